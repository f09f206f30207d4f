import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@malpipe/core';
import type { YaraRuleMatch } from '@malpipe/analyzers';
import { createLibyaraEngine } from '../src/libyara-engine.js';
import { createYaraXEngine } from '../src/yara-x-engine.js';
import { loadCompiledRules, loadOrCompileRules, saveCompiledRules } from '../src/compiled-rules-cache.js';
import { createRuleset } from '../src/load-ruleset.js';
import { createYaraEngine } from '../src/create-yara-engine.js';
import type { CompiledRules, YaraEngine, YaraSource } from '../src/yara-engine.js';
import { IN_CI, missing } from './yara-test-support.js';

const SOURCES: YaraSource[] = [
  {
    namespace: 'alpha',
    origin: 'alpha.yar',
    source: [
      'private rule has_hello { strings: $h = "hello" condition: $h }',
      'rule greeting : friendly test',
      '{',
      '  meta:',
      '    text = "str \\"quoted\\""',
      '    count = 5',
      '    negative = -3',
      '    yes = true',
      '    no = false',
      '  strings:',
      '    $a = "hello"',
      '    $b = { 41 42 }',
      '  condition:',
      '    has_hello and any of them',
      '}',
      'rule shared_name { condition: filesize > 0 }',
    ].join('\n'),
  },
  {
    namespace: 'beta',
    origin: 'beta.yar',
    // Same rule name as in alpha: namespaces keep them apart.
    source: 'rule shared_name { strings: $w = "world" condition: $w }\n',
  },
  {
    namespace: 'gamma',
    origin: 'gamma.yar',
    // A global rule gates its own namespace only.
    source: 'global rule only_big { condition: filesize > 100 }\nrule gated { condition: true }\n',
  },
];

const SAMPLE = Buffer.from('xxhelloAB hello world');

function summary(matches: readonly YaraRuleMatch[]): string[] {
  return matches.map((m) => `${m.namespace}:${m.rule}`).sort();
}

const ENGINES: { name: string; create: () => YaraEngine; skip: string | null }[] = [
  { name: 'libyara', create: () => createLibyaraEngine(), skip: missing('libyara') },
  { name: 'yara-x', create: () => createYaraXEngine(), skip: null },
];

it('has the libyara addon built in CI', () => {
  if (IN_CI) expect(missing('libyara')).toBeNull();
  else if (missing('libyara') !== null) console.warn(`libyara contract tests skipped: ${missing('libyara')}`);
});

for (const { name, create, skip } of ENGINES) {
  describe.skipIf(skip !== null && !IN_CI)(`YARA engine contract: ${name}`, () => {
    let engine: YaraEngine;
    let rules: CompiledRules;

    beforeAll(async () => {
      engine = create();
      rules = await engine.compile(SOURCES);
    });
    afterAll(() => rules.dispose());

    it('reports its name and counts every rule, private and global included', () => {
      expect(engine.name).toBe(name);
      expect(rules.engine).toBe(name);
      expect(rules.ruleCount).toBe(6);
    });

    it('reports namespaces, tags, typed meta and string offsets, never private rules', async () => {
      const matches = await rules.scan(SAMPLE);
      expect(summary(matches)).toEqual(['alpha:greeting', 'alpha:shared_name', 'beta:shared_name']);
      const greeting = matches.find((m) => m.rule === 'greeting');
      expect(greeting?.tags).toEqual(['friendly', 'test']);
      expect(greeting?.meta).toEqual({ text: 'str "quoted"', count: 5, negative: -3, yes: true, no: false });
      const strings = [...(greeting?.strings ?? [])].sort((a, b) => a.offset - b.offset);
      expect(strings).toEqual([
        { identifier: '$a', offset: 2, length: 5 },
        { identifier: '$b', offset: 7, length: 2 },
        { identifier: '$a', offset: 10, length: 5 },
      ]);
      const beta = matches.find((m) => m.namespace === 'beta');
      expect(beta?.strings).toEqual([{ identifier: '$w', offset: 16, length: 5 }]);
    });

    it('applies a global rule to its namespace only', async () => {
      const big = Buffer.concat([SAMPLE, Buffer.alloc(200)]);
      expect(summary(await rules.scan(big))).toContain('gamma:gated');
      expect(summary(await rules.scan(SAMPLE))).not.toContain('gamma:gated');
    });

    it('scans views at their own offsets, empty buffers and files', async () => {
      const whole = new Uint8Array(10 + SAMPLE.length).fill(0x30);
      whole.set(SAMPLE, 10);
      const view = whole.subarray(10);
      const greeting = (await rules.scan(view)).find((m) => m.rule === 'greeting');
      expect(greeting?.strings.map((s) => s.offset).sort((a, b) => a - b)).toEqual([2, 7, 10]);
      expect(await rules.scan(new Uint8Array(0))).toEqual([]);
      const dir = await mkdtemp(path.join(tmpdir(), 'yara-contract-'));
      try {
        const file = path.join(dir, 'sample.bin');
        await writeFile(file, SAMPLE);
        expect(summary(await rules.scanFile(file))).toEqual(summary(await rules.scan(SAMPLE)));
        await expect(rules.scanFile(path.join(dir, 'absent'))).rejects.toBeInstanceOf(AppError);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('scans a batch of files in one call exactly as scanFile would, a failing file as its own error', async () => {
      if (rules.scanFiles === undefined) return;
      const dir = await mkdtemp(path.join(tmpdir(), 'yara-contract-batch-'));
      try {
        const contents = [SAMPLE, Buffer.concat([SAMPLE, Buffer.alloc(200)]), Buffer.from('nothing here'), Buffer.alloc(0)];
        const files = contents.map((_, i) => path.join(dir, `f${i}.bin`));
        await Promise.all(files.map((f, i) => writeFile(f, contents[i]!)));
        const paths = [...files.slice(0, 2), path.join(dir, 'absent'), ...files.slice(2), files[0]!];
        const outcomes = await rules.scanFiles(paths);
        expect(outcomes).toHaveLength(paths.length);
        for (const [i, p] of paths.entries()) {
          const outcome = outcomes[i]!;
          if (p.endsWith('absent')) {
            expect('error' in outcome && outcome.error).toBeInstanceOf(AppError);
            continue;
          }
          const single = await rules.scanFile(p);
          expect('matches' in outcome ? outcome.matches : null).toEqual(single);
        }
        expect(await rules.scanFiles([])).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('gives every one of many concurrent scans on one compiled ruleset its own correct result', async () => {
      const inputs = Array.from({ length: 64 }, (_, i) =>
        Buffer.concat([
          Buffer.alloc(i * 97, 0x2e),
          i % 2 === 0 ? SAMPLE : Buffer.from('nothing here'),
          Buffer.alloc(i),
        ]),
      );
      const results = await Promise.all(inputs.map((input) => rules.scan(input)));
      results.forEach((matches, i) => {
        const expected =
          i % 2 === 0 ? ['alpha:greeting', 'alpha:shared_name', 'beta:shared_name'] : ['alpha:shared_name'];
        // Global rules that match are reported like any other rule.
        const withGlobal =
          inputs[i]!.length > 100 ? [...expected, 'gamma:gated', 'gamma:only_big'].sort() : expected;
        expect(summary(matches)).toEqual(withGlobal);
        if (i % 2 === 0) {
          const offsets = matches.find((m) => m.rule === 'greeting')?.strings.map((s) => s.offset);
          expect(Math.min(...(offsets ?? []))).toBe(i * 97 + 2);
        }
      });
    });

    it('reports compile errors as YARA_COMPILE_FAILED with the origin and line', async () => {
      const broken: YaraSource[] = [
        SOURCES[0]!,
        {
          namespace: 'broken',
          origin: 'broken.yar',
          source: 'rule fine { condition: true }\n\nrule bad {\n  condition: undefined_thing\n}\n',
        },
      ];
      const error = await engine.compile(broken).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('YARA_COMPILE_FAILED');
      expect((error as AppError).message).toMatch(/^broken\.yar:4: /);
      expect((error as AppError).details?.line).toBe(4);
    });

    it('caps reported matches per string but not the verdict', async () => {
      const many = await engine.compile([
        { namespace: 'n', source: 'rule many { strings: $x = "xyzzy" condition: #x == 500 }' },
      ]);
      try {
        const matches = await many.scan(Buffer.from('xyzzy.'.repeat(500)));
        expect(matches.map((m) => m.rule)).toEqual(['many']);
        expect(matches[0]?.strings).toHaveLength(100);
      } finally {
        many.dispose();
      }
    });

    if (name === 'libyara') {
      it('saves and loads compiled rules (also through the cache helpers)', async () => {
        const saved = await rules.save();
        expect(saved).not.toBeNull();
        const loaded = await engine.load(saved!);
        expect(loaded.ruleCount).toBe(rules.ruleCount);
        expect(await loaded.scan(SAMPLE)).toEqual(await rules.scan(SAMPLE));
        loaded.dispose();
        await expect(engine.load(Buffer.from('not compiled rules'))).rejects.toMatchObject({
          code: 'MALFORMED_INPUT',
        });

        const dir = await mkdtemp(path.join(tmpdir(), 'yara-cache-'));
        try {
          const file = path.join(dir, 'rules.bin');
          const ruleset = createRuleset(SOURCES);
          expect(await saveCompiledRules(rules, ruleset.version, file)).toBe(true);
          expect(await loadCompiledRules(engine, 'other-version', file)).toBeNull();
          const cached = await loadOrCompileRules(engine, ruleset, file);
          expect(summary(await cached.scan(SAMPLE))).toEqual(summary(await rules.scan(SAMPLE)));
          cached.dispose();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('abandons a slow scan with a timeout error', async () => {
        const slow = await engine.compile([
          {
            namespace: 'slow',
            source:
              'rule slow { condition: for all i in (0..filesize-1) : (for all j in (0..filesize-1) : (uint8(i) != 0xFF)) }',
          },
        ]);
        const started = Date.now();
        await expect(slow.scan(Buffer.alloc(100_000), { timeoutMs: 1000 })).rejects.toMatchObject({
          code: 'ANALYZER_TIMEOUT',
        });
        expect(Date.now() - started).toBeLessThan(5000);
        // The ruleset stays usable after a timeout.
        expect(await slow.scan(Buffer.alloc(2))).toEqual([
          { rule: 'slow', namespace: 'slow', tags: [], meta: {}, strings: [] },
        ]);
        slow.dispose();
      });

      it('lets scans in flight finish when the rules are disposed', async () => {
        const own = await engine.compile(SOURCES);
        const pending = own.scan(Buffer.concat([Buffer.alloc(4 << 20), SAMPLE]));
        own.dispose();
        expect(summary(await pending)).toContain('alpha:greeting');
        await expect(own.scan(SAMPLE)).rejects.toBeInstanceOf(AppError);
      });
    } else {
      it('cannot save or load compiled rules', async () => {
        expect(await rules.save()).toBeNull();
        await expect(engine.load(new Uint8Array(8))).rejects.toMatchObject({
          code: 'YARA_ENGINE_UNAVAILABLE',
        });
        const dir = await mkdtemp(path.join(tmpdir(), 'yara-cache-'));
        try {
          expect(await saveCompiledRules(rules, 'v', path.join(dir, 'rules.bin'))).toBe(false);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  });
}

describe(createYaraEngine.name, () => {
  it('picks libyara in auto mode when the addon is built, and honours an explicit choice', async () => {
    const auto = await createYaraEngine('auto');
    expect(auto.name).toBe(missing('libyara') === null ? 'libyara' : 'yara-x');
    expect((await createYaraEngine('yara-x')).name).toBe('yara-x');
    if (missing('libyara') === null) expect((await createYaraEngine('libyara')).name).toBe('libyara');
    else await expect(createYaraEngine('libyara')).rejects.toMatchObject({ code: 'YARA_ENGINE_UNAVAILABLE' });
  });
});
