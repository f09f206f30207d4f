import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ManagedJobQueue } from './queue/create-job-queue.js';

export interface WorkerHealthServer {
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The worker role's tiny HTTP listener (no Fastify, no auth): `GET /health` answers 200 while the process
 * runs its workers and 503 once it is stopping; `GET /metrics` is the Prometheus text of this process's
 * job counters and the shared queue depth. Bind it to an internal address: it has no authentication.
 */
export async function startWorkerHealthServer(
  queue: ManagedJobQueue,
  options: { readonly host: string; readonly port: number; readonly role: string },
): Promise<WorkerHealthServer> {
  let stopping = false;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/health') {
      response
        .writeHead(stopping ? 503 : 200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: stopping ? 'stopping' : 'ok', role: options.role, pid: process.pid }));
    } else if (path === '/metrics') {
      queue.renderMetrics(options.role).then(
        (text) =>
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        () => response.writeHead(500).end(),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => {
      stopping = true;
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
