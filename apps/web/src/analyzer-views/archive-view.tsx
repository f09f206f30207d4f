import type { SampleReport } from '@malpipe/api-client';
import { Facts } from '../components/section.js';
import { formatBytes, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import type { ArchiveResult } from './result-schemas.js';

/** Plain words for the archive analyser's skip reasons. */
const SKIP_REASONS: Readonly<Record<string, string>> = {
  DIRECTORY: 'directory',
  NOT_A_FILE: 'not a regular file',
  EMPTY: 'empty',
  WRONG_PASSWORD: 'no given password opened it',
  UNSUPPORTED: 'unsupported compression or encryption',
  CORRUPT: 'corrupt',
  TRUNCATED: 'truncated',
  TOO_LARGE: 'over the size limit',
  COMPRESSION_RATIO: 'compression ratio too high (zip bomb guard)',
  TOO_MANY_ENTRIES: 'over the entry limit',
  MAX_DEPTH: 'maximum nesting depth reached',
};

export function ArchiveView({ archive, children }: { readonly archive: ArchiveResult; readonly children: SampleReport['relations']['children'] }) {
  const childByPath = new Map(children.filter((c) => c.analyzer === 'archive' && c.detail !== null).map((c) => [c.detail, c.sha256]));
  return (
    <div className="analyzer-view">
      <Facts
        rows={[
          ['Format', archive.format],
          ['Entries', `${archive.entries.length} (${archive.extractedCount} extracted, ${formatBytes(archive.extractedBytes)})`],
          ['Encrypted', archive.encrypted ? 'yes' : 'no'],
        ]}
      />
      <table className="grid">
        <thead>
          <tr>
            <th>Path</th>
            <th className="num">Size</th>
            <th className="num">Compressed</th>
            <th>Encryption</th>
            <th>Extracted</th>
            <th>Child sample</th>
          </tr>
        </thead>
        <tbody>
          {archive.entries.map((e, i) => {
            const child = childByPath.get(e.path);
            return (
              <tr key={i} className={e.extracted ? '' : 'row-muted'}>
                <td className="mono">
                  {e.path}
                  {e.storedPath !== undefined && <div className="small muted">stored as {e.storedPath}</div>}
                  {e.unsafePath === true && <span className="badge state-failed">unsafe path</span>}
                </td>
                <td className="num">{e.size === null ? '?' : formatBytes(e.size)}</td>
                <td className="num">{e.compressedSize === null ? '?' : formatBytes(e.compressedSize)}</td>
                <td>{e.encrypted ? (e.encryption ?? 'yes') : ''}{e.password !== undefined && <span className="small muted"> password “{e.password}”</span>}</td>
                <td>
                  {e.extracted ? (
                    <span className="ok">yes{e.partial === true ? ' (partial)' : ''}</span>
                  ) : (
                    <span className="warn" title={e.reason}>
                      no: {e.reason === undefined ? 'unknown reason' : (SKIP_REASONS[e.reason] ?? e.reason)}
                    </span>
                  )}
                </td>
                <td className="mono">{child === undefined ? '' : <Link to={paths.sample(child)}>{shortHash(child)}</Link>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
