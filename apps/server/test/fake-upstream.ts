import { createHash } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the loopback fakes of upstream APIs (VirusTotal, MalwareBazaar) share. */

export interface FileDigests {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
}

/** The hashes an upstream indexes a file by. */
export function fileDigests(bytes: Uint8Array): FileDigests {
  const digest = (algorithm: string): string => createHash(algorithm).update(bytes).digest('hex');
  return { sha256: digest('sha256'), sha1: digest('sha1'), md5: digest('md5') };
}

/** Failures a test scripts in advance (`failNext`), answered as an HTML error page as real upstreams do. */
export class ScriptedFailures {
  #next = { count: 0, status: 0, body: '' };

  failNext(count: number, status: number, body: string): void {
    this.#next = { count, status, body };
  }

  /** Answers `res` with the next scripted failure and returns its status; null when none is due. */
  respond(res: ServerResponse): number | null {
    if (this.#next.count <= 0) return null;
    this.#next.count--;
    res.writeHead(this.#next.status, { 'content-type': 'text/html' });
    res.end(this.#next.body);
    return this.#next.status;
  }
}

/** Listens on an ephemeral 127.0.0.1 port; `close` drops kept-alive connections so tests end promptly. */
export async function listenOnLoopback(server: Server): Promise<{ readonly port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
