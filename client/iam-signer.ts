/**
 * SigV4 signing for an API deployed with IAM auth (Node only): a `fetch` that signs each request for
 * `execute-api` with credentials from the standard AWS chain (environment, profile, SSO, instance
 * role…), as the AWS CLI finds them. Pass it as the client's `fetch`.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
// The SDK's own loader of settings (environment, then the shared config file's profile), which the
// credential chain above depends on: present wherever that is.
import { loadConfig } from '@smithy/core/config';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { FetchLike } from './client.ts';
import { RequestNotSentError } from './errors.ts';

/** Options of {@link iamSignedFetch}. */
export interface IamSigningOptions {
  /**
   * The API's region. @default the region in the API's host name
   * (`{api-id}.execute-api.{region}.amazonaws.com`), else $AWS_REGION, else $AWS_DEFAULT_REGION, else
   * the `region` of the active profile ($AWS_PROFILE, else `default`) in the shared config file
   * (~/.aws/config, or $AWS_CONFIG_FILE), else us-east-1
   */
  readonly region?: string;
  /** Credentials, or a provider of them. @default the standard AWS credential chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The fetch to send with. @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

/** The region in an API Gateway host name: `{api-id}[-{vpce-id}].execute-api.{region}.amazonaws.com[.cn]`. */
const EXECUTE_API_HOST = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * A fetch that signs every request with SigV4 for `execute-api`. A failure before sending (no
 * credentials found, a signature that cannot be made) rejects with {@link RequestNotSentError}: the
 * client neither retries it nor reports it as a request that may have been acted on.
 */
export function iamSignedFetch(options: IamSigningOptions = {}): FetchLike {
  // Read once, when a request first needs it (a host name naming its region does not).
  const configuredRegion = loadConfig<string>({
    environmentVariableSelector: (env) => env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    configFileSelector: (profile) => profile.region,
    default: 'us-east-1',
  });
  const credentials = options.credentials ?? defaultProvider();
  const signer = new SignatureV4({ service: 'execute-api', region: configuredRegion, credentials, sha256: Sha256 });
  const send = options.fetch ?? globalThis.fetch;
  return async (input: string, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers: Record<string, string> = { host: url.host };
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = typeof init.body === 'string' ? init.body : undefined;
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const existing = query[name];
      query[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
    }
    // The region is looked up inside: failing to find one is failing to sign.
    const sign = async () => {
      const signingRegion = options.region ?? EXECUTE_API_HOST.exec(url.hostname)?.[1] ?? (await configuredRegion());
      return signer.sign(
        {
          method: (init.method ?? 'GET').toUpperCase(),
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port && { port: Number(url.port) }),
          path: url.pathname,
          query,
          headers,
          ...(body !== undefined && { body }),
        },
        { signingRegion },
      );
    };
    const signed = await sign().catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RequestNotSentError(`${init.method ?? 'GET'} ${url} was not sent: it could not be signed for IAM: ${reason}`, { cause: error });
    });
    const { host: _host, ...sent } = signed.headers as Record<string, string>;
    return send(url.toString(), { ...init, headers: sent });
  };
}
