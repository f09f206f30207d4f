/**
 * Test helper process: starts a sandbox, sets a looping analyser running, prints the child's pid and waits
 * to be killed. The sandbox test kills this host with SIGKILL and checks the orphaned child dies too.
 */
import { DEFAULT_LIMITS } from '@malpipe/analyzers';
import { AnalyzerSandbox } from '../../src/sandbox/analyzer-sandbox.js';

const hostileModule = process.argv[2] ?? '';
const sandbox = new AnalyzerSandbox({ size: 1, timeoutMs: 600_000, memoryMb: 64, extraAnalyzerModules: [hostileModule], builtinAnalyzers: false });
void sandbox.run({
  analyzer: 'test-loop',
  input: { bytes: new Uint8Array([1]) },
  facts: {
    sha256: '0'.repeat(64),
    size: 1,
    fileType: { kind: 'data', format: 'unknown', mime: 'application/octet-stream', description: 'data', traits: [] },
    fileNames: [],
    depth: 0,
  },
  archivePasswords: [],
  limits: DEFAULT_LIMITS,
});
const poll = setInterval(() => {
  const [pid] = sandbox.pids;
  if (pid !== undefined) {
    clearInterval(poll);
    // Give the child time to say ready and enter the loop before announcing it.
    setTimeout(() => process.stdout.write(`child ${pid}\n`), 1500);
  }
}, 50);
