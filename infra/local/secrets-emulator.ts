/**
 * A small Secrets Manager for the local runtime: `GetSecretValue` and `PutSecretValue` over the AWS
 * JSON protocol, so the functions read their secret through the same SDK call as when deployed.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsEmulator {
  readonly endpoint: string;
  /** The ARN a secret of this name gets. */
  arnOf(name: string): string;
  stop(): Promise<void>;
}

export async function startSecretsEmulator(region: string, secrets: Map<string, string>): Promise<SecretsEmulator> {
  const arnOf = (name: string) => `arn:aws:secretsmanager:${region}:000000000000:secret:${name}`;
  const find = (id: string) => [...secrets.keys()].find((name) => name === id || arnOf(name) === id);
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    let input: { SecretId?: string; SecretString?: string };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    } catch {
      return reply(400, { __type: 'InvalidRequestException', message: 'malformed JSON' });
    }
    const action = String(req.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
    const name = find(input.SecretId ?? '');
    if (!name) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    if (action === 'GetSecretValue') {
      return reply(200, { ARN: arnOf(name), Name: name, SecretString: secrets.get(name), VersionId: 'local', CreatedDate: Date.now() / 1000 });
    }
    if (action === 'PutSecretValue' && typeof input.SecretString === 'string') {
      secrets.set(name, input.SecretString);
      return reply(200, { ARN: arnOf(name), Name: name, VersionId: 'local' });
    }
    return reply(400, { __type: 'InvalidRequestException', message: `${action} is not supported locally` });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arnOf,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
