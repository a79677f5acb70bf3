import dns from 'node:dns';

/**
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/...`, and the SQS client sends each call
 * to the host of its queue URL; `*.localhost` does not resolve here, so resolve it to loopback.
 * Installed in every thread that runs SDK clients (the runtime and each function instance).
 */
export function resolveLocalhostSubdomains(): void {
  const original = dns.lookup;
  const patched = ((hostname: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
    if (hostname.endsWith('.localhost')) {
      if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
      return;
    }
    (original as (...args: unknown[]) => void)(hostname, options, callback);
  }) as typeof dns.lookup;
  dns.lookup = patched;
}
