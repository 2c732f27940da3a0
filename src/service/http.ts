import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Check {
  ok: boolean;
  /** Shown in the response body; never contains a token. */
  detail: Record<string, unknown>;
}

export interface HttpDeps {
  live: () => Check;
  ready: () => Check;
  registry: Registry;
}

/** `/healthz` (liveness), `/readyz` (readiness), `/metrics` (Prometheus text). */
export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const check = path === '/healthz' ? deps.live() : deps.ready();
      res
        .writeHead(check.ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: check.ok ? 'ok' : 'unavailable', ...check.detail }));
      return;
    }
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
