/**
 * The floor under benchmark (a): what the hashes the issue requires for every sample (md5, sha1, sha256, sha512,
 * ssdeep, TLSH) cost when computed by the reference tools alone, on the same files, both cores busy. No analysis
 * pipeline can be cheaper than this floor, so it tells how much of the gap to a bare YARA scan is inherent.
 *  - digests: OpenSSL through node:crypto (SHA-NI where the CPU has it), one process per core;
 *  - ssdeep: Debian's `ssdeep` CLI, one process per core;
 *  - TLSH: python3-tlsh (the reference C++ implementation), one process per core.
 * A tool that is missing is reported as such and left out of the sum.
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';

export interface HashFloorPart {
  readonly name: string;
  /** Wall time with one process per core; null when the tool is missing. */
  readonly ms: number | null;
  readonly note: string;
}

export interface HashFloor {
  readonly parts: readonly HashFloorPart[];
  /** Sum of the parts that ran: the wall time of computing every required hash with the reference tools. */
  readonly totalMs: number;
}

const DIGEST_SCRIPT = `
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
for (const file of readFileSync(0, 'utf8').split('\\n')) {
  if (file === '') continue;
  const bytes = readFileSync(file);
  for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) createHash(algorithm).update(bytes).digest('hex');
}`;

const TLSH_SCRIPT = `
import sys, tlsh
for name in sys.stdin.read().split('\\n'):
    if name:
        with open(name, 'rb') as f:
            tlsh.hash(f.read())
`;

function runWithInput(command: string, args: readonly string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = execFile(command, [...args], { maxBuffer: 256 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolveRun({ code, stderr: stderr.slice(-500) });
    });
    child.stdin?.end(input);
  });
}

/** Splits `files` into `ways` lists of about equal byte size (largest first, greedy). */
function split(files: readonly { path: string; size: number }[], ways: number): string[][] {
  const lists: { paths: string[]; bytes: number }[] = Array.from({ length: ways }, () => ({ paths: [], bytes: 0 }));
  for (const file of [...files].sort((a, b) => b.size - a.size)) {
    const lightest = lists.reduce((min, list) => (list.bytes < min.bytes ? list : min));
    lightest.paths.push(file.path);
    lightest.bytes += file.size;
  }
  return lists.map((list) => list.paths);
}

async function timeParallel(lists: readonly string[][], start: (list: string[]) => Promise<{ code: number; stderr: string }>): Promise<{ ms: number; failure: string | null }> {
  const started = performance.now();
  const results = await Promise.all(lists.map((list) => start(list)));
  const failed = results.find((r) => r.code !== 0);
  return { ms: performance.now() - started, failure: failed === undefined ? null : `exit ${failed.code}: ${failed.stderr.trim()}` };
}

export async function measureHashFloor(files: readonly { path: string; size: number }[]): Promise<HashFloor> {
  const ways = Math.max(1, cpus().length);
  const lists = split(files, ways);
  const parts: HashFloorPart[] = [];
  const record = (name: string, outcome: { ms: number; failure: string | null }, note: string): void => {
    parts.push(outcome.failure === null ? { name, ms: outcome.ms, note } : { name, ms: null, note: `not measured (${outcome.failure})` });
  };
  record(
    'md5+sha1+sha256+sha512',
    await timeParallel(lists, (list) => runWithInput(process.execPath, ['-e', DIGEST_SCRIPT], `${list.join('\n')}\n`)),
    `OpenSSL via node:crypto, ${ways} processes`,
  );
  // ssdeep takes the paths as arguments; -s silences per-file warnings (e.g. a file that shrank meanwhile).
  record('ssdeep', await timeParallel(lists, (list) => runWithInput('ssdeep', ['-s', ...list], '')), `ssdeep CLI, ${ways} processes`);
  record('TLSH', await timeParallel(lists, (list) => runWithInput('/usr/bin/python3', ['-c', TLSH_SCRIPT], `${list.join('\n')}\n`)), `python3-tlsh, ${ways} processes`);
  const totalMs = parts.reduce((sum, part) => sum + (part.ms ?? 0), 0);
  return { parts, totalMs };
}
