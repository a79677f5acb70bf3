/**
 * SigV4 signing for an API deployed with IAM auth (Node only): a `fetch` that signs each request for
 * `execute-api` with credentials from the standard AWS chain (environment, profile, SSO, instance
 * role…), as the AWS CLI finds them. Pass it as the client's `fetch`.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { FetchLike } from './client.ts';

/** Options of {@link iamSignedFetch}. */
export interface IamSigningOptions {
  /** The API's region. @default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1 */
  readonly region?: string;
  /** Credentials, or a provider of them. @default the standard AWS credential chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The fetch to send with. @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

/** A fetch that signs every request with SigV4 for `execute-api`. */
export function iamSignedFetch(options: IamSigningOptions = {}): FetchLike {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: options.credentials ?? defaultProvider(), sha256: Sha256 });
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
    const signed = await signer.sign({
      method: (init.method ?? 'GET').toUpperCase(),
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port && { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers,
      ...(body !== undefined && { body }),
    });
    const { host: _host, ...sent } = signed.headers as Record<string, string>;
    return send(url.toString(), { ...init, headers: sent });
  };
}
