import { createServer, type Server } from 'node:http';

/** The three digests on the test page (MD5, SHA-1, SHA-256 of arbitrary strings; no real sample behind them). */
export const PAGE_HASHES = {
  md5: '5f4dcc3b5aa765d61d8327deb882cf99',
  sha1: '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12',
  sha256: 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c',
} as const;

/**
 * A threat report as a CERT would read it: three hashes (one in upper case, one twice), a defanged URL and an
 * IP address, a GUID that must not be taken for an MD5.
 */
export const REPORT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Report</title></head>
<body>
  <h1>Incident 2026-11</h1>
  <article id="report">
    <p>The dropper (MD5 ${PAGE_HASHES.md5.toUpperCase()}) fetched its second stage from hxxp://update-check[.]example[.]net/gate.php
       hosted on 203.0.113[.]45.</p>
    <p>Second stage SHA-1: <code>${PAGE_HASHES.sha1}</code>; payload SHA-256:
       <code>${PAGE_HASHES.sha256}</code>.</p>
    <p>Persistence uses CLSID {6b29fc40ca471067b31d00dd010662da}. Same dropper again: ${PAGE_HASHES.md5}.</p>
  </article>
  <p id="outside">Not selected: 0123456789abcdef0123456789abcdef01234567</p>
</body></html>`;

export interface ReportPage {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveReportPage(): Promise<ReportPage> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(REPORT_HTML);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/report.html`,
    close: () => new Promise((resolveClose) => server.close(() => resolveClose())),
  };
}
