/**
 * Test-only analysers injected into the sandbox by module path: they misbehave on purpose (loop forever,
 * exhaust the heap, hold buffers outside it, crash, throw) so tests can check that the pool survives.
 * Each accepts only samples whose file name starts with its trigger, so built-in analysers run as usual.
 */
import type { Analyzer, SampleFacts } from '@malpipe/analyzers';

function named(prefix: string): (facts: SampleFacts) => boolean {
  return (facts) => facts.fileNames.some((name) => name.startsWith(prefix));
}

export const echoAnalyzer: Analyzer<{ size: number; first: number | null }> = {
  name: 'test-echo',
  version: '1',
  accepts: named('echo'),
  analyze: (bytes) => Promise.resolve({ result: { size: bytes.length, first: bytes[0] ?? null }, tags: ['echoed'] }),
};

/** Emits one child whatever the depth, so the pipeline's own depth guard is what stops it. */
export const spawnAnalyzer: Analyzer = {
  name: 'test-spawn',
  version: '1',
  accepts: named('spawn'),
  analyze: (bytes) =>
    Promise.resolve({
      result: { spawned: 1 },
      children: [{ bytes: new Uint8Array([...bytes, 0x21]), name: `spawn-child-${bytes.length}`, relation: 'carved' as const, detail: 'offset 0' }],
    }),
};

export const loopAnalyzer: Analyzer = {
  name: 'test-loop',
  version: '1',
  accepts: named('loop'),
  analyze: () => {
    for (;;) {
      // Spins forever, as a parser stuck on a cyclic structure would.
    }
  },
};

export const heapHogAnalyzer: Analyzer = {
  name: 'test-heap-hog',
  version: '1',
  accepts: named('heaphog'),
  analyze: () => {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array<number>(1_000_000).fill(hoard.length));
  },
};

export const bufferHogAnalyzer: Analyzer = {
  name: 'test-buffer-hog',
  version: '1',
  accepts: named('bufferhog'),
  analyze: async () => {
    const hoard: Buffer[] = [];
    // Bounded so a broken watchdog cannot take the machine down: 64 x 32 MiB = 2 GiB at most.
    for (let i = 0; i < 64; i++) {
      hoard.push(Buffer.alloc(32 * 1024 * 1024, i));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { result: { held: hoard.length } };
  },
};

export const crashAnalyzer: Analyzer = {
  name: 'test-crash',
  version: '1',
  accepts: named('crash'),
  analyze: () => {
    // A native crash, without leaving a core file behind.
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => undefined);
  },
};

export const throwAnalyzer: Analyzer = {
  name: 'test-throw',
  version: '1',
  accepts: named('throw'),
  analyze: () => Promise.reject(new Error('parser exploded')),
};

export const analyzers: readonly Analyzer[] = [echoAnalyzer, spawnAnalyzer, loopAnalyzer, heapHogAnalyzer, bufferHogAnalyzer, crashAnalyzer, throwAnalyzer];
