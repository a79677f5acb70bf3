/**
 * A fault-injecting HTTP proxy between the functions and an emulator. Each request can be passed
 * through, refused with a 500, or passed through and then left unanswered, which is how a Lambda
 * that crashes right after a write looks from outside: the write happened, the code never learned it.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What to do with one request. */
export type FaultDecision = 'pass' | 'fail' | 'hang-after-write';

export interface FaultProxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts a proxy to `target`; `decide` sees each request's headers and body. */
export async function startFaultProxy(target: string, decide: (headers: http.IncomingHttpHeaders, body: string) => FaultDecision): Promise<FaultProxy> {
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const decision = decide(req.headers, body.toString('utf8'));
    if (decision === 'fail') {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'InternalFailure' });
      res.end('{"__type":"InternalFailure","message":"injected fault"}');
      return;
    }
    const url = new URL(req.url ?? '/', target);
    const upstream = await fetch(url, {
      method: req.method ?? 'POST',
      headers: Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)) as [string, string][]),
      ...(body.length > 0 && { body }),
    });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (decision === 'hang-after-write') {
      hanging.add(res);
      return;
    }
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) headers[name] = value;
    });
    res.writeHead(upstream.status, { ...headers, 'content-length': answer.length });
    res.end(answer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
