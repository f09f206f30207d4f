/**
 * `npm run bench`: every benchmark, each measuring malpipe side by side with a reference in the same run
 * (ratios, not absolute times). `npm run bench -- --only yara,cobaltstrike` runs a subset; `--quick` shrinks
 * corpora for a smoke run. Figures go to stdout; nothing here asserts timing.
 */
interface BenchEntry {
  readonly name: string;
  readonly what: string;
  readonly run: (quick: boolean) => Promise<unknown>;
}

const BENCHES: readonly BenchEntry[] = [
  {
    name: 'yara',
    what: 'YARA engines (libyara addon, YARA-X, yara CLI) over system files, default and public rules',
    run: async (quick) => (await import('./yara-engines.js')).runYaraEngineBench(quick ? { corpusMb: 100, rulesets: ['default'] } : {}),
  },
  {
    name: 'pipeline',
    what: 'malpipe analyze vs yara -r (a); 2,000 samples through the API vs analyze (b); serve peak memory (c)',
    run: async (quick) => (await import('./pipeline.js')).runPipelineBench(quick ? { corpusMb: 50, smallSamples: 200 } : {}),
  },
  {
    name: 'cobaltstrike',
    what: 'beacon parse time over the corpus; 1 GiB memory-image scan vs a plain sequential read',
    run: async (quick) => (await import('./cobaltstrike.js')).runCobaltStrikeBench(quick ? { imageMb: 128 } : {}),
  },
  {
    name: 'yara-hunt',
    what: 'local retrohunt over >= 1 GB of stored samples vs yara -r on the same files; rule generation from 100 samples',
    run: async (quick) => (await import('./yara-hunt.js')).runYaraHuntBench(quick ? { corpusMb: 100 } : {}),
  },
  {
    name: 'scale-out',
    what: '2,000 samples through the API: embedded serve vs 1 api + 1, 2, 4 workers on PostgreSQL, S3, BullMQ',
    run: async (quick) => (await import('./scale-out.js')).runScaleOutBench(quick ? { samples: 200 } : {}),
  },
  {
    name: 'queue-depth',
    what: 'BullMQ at 10k/100k/1M and SQLite queue at 10k/100k/1M pending jobs: memory/job, enqueue and dequeue rates',
    run: async (quick) => (await import('./queue-depth.js')).runQueueDepthBench(quick ? { max: 100_000, sample: 2_000, rounds: 2 } : {}),
  },
];

const args = process.argv.slice(2);
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : null;
const quick = args.includes('--quick');

for (const bench of BENCHES) {
  if (only !== null && !only.has(bench.name)) continue;
  process.stdout.write(`\n=== ${bench.name}: ${bench.what}${quick ? ' (quick)' : ''} ===\n`);
  const started = Date.now();
  try {
    await bench.run(quick);
    process.stdout.write(`=== ${bench.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s ===\n`);
  } catch (error) {
    process.exitCode = 1;
    process.stdout.write(`=== ${bench.name} FAILED: ${error instanceof Error ? error.message : String(error)} ===\n`);
  }
}
