import { open, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import { registerCsProbe } from './cs-probe.js';
import {
  createBeaconScanner,
  formatPythonJson,
  parseBeaconConfigs,
  toJpcertJson,
  toMalleableProfile,
  toNativeJson,
  type BeaconConfig,
  type BeaconParseResult,
} from '@malpipe/analyzers/cobaltstrike/index';

export const CS_FORMATS = ['native', 'jpcert', 'profile'] as const;
export type CsFormat = (typeof CS_FORMATS)[number];

export interface CsParseOptions {
  readonly format: CsFormat;
  readonly bugCompatible?: boolean;
}

/** Files up to this size are parsed whole (containers, guardrails, stagers); larger ones are streamed. */
const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;
const STREAM_CHUNK = 8 * 1024 * 1024;

async function readWhole(path: string, size: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(bytes, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/** Parses one file: whole when it fits, else through the streaming scanner (raw blocks and runtime arrays only). */
export async function parseCsFile(
  path: string,
  { wholeFileLimit = WHOLE_FILE_LIMIT, chunkBytes = STREAM_CHUNK }: { readonly wholeFileLimit?: number; readonly chunkBytes?: number } = {},
): Promise<BeaconParseResult> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new AppError('BAD_REQUEST', `${path} is not a regular file`);
    size = info.size;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('NOT_FOUND', `cannot read ${path}`, { cause: error });
  }
  if (size <= wholeFileLimit) return parseBeaconConfigs(await readWhole(path, size));
  const scanner = createBeaconScanner();
  const configs: BeaconConfig[] = [];
  const handle = await open(path, 'r');
  try {
    // Two buffers: the next chunk is read (on libuv's thread pool) while this one is scanned, so the kernel's copy
    // and the scan overlap on two cores.
    let current = new Uint8Array(chunkBytes);
    let spare = new Uint8Array(chunkBytes);
    let position = 0;
    let pending = handle.read(current, 0, chunkBytes, position);
    while (true) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      const filled = current;
      pending = handle.read(spare, 0, chunkBytes, position);
      configs.push(...scanner.push(filled.subarray(0, bytesRead)));
      current = spare;
      spare = filled;
    }
    configs.push(...scanner.end());
  } finally {
    await handle.close();
  }
  return { configs, decoded: [], stagers: [], errors: [...scanner.errors], beaconDetected: configs.length > 0 };
}

/** Renders one file's result in the chosen format (no trailing newline handling needed by callers). */
export function renderCsResult(path: string, result: BeaconParseResult, options: CsParseOptions): string {
  switch (options.format) {
    case 'native':
      return `${JSON.stringify({ file: path, beaconDetected: result.beaconDetected, configs: result.configs.map(toNativeJson), stagers: result.stagers, errors: result.errors })}\n`;
    case 'jpcert':
      // One object per beacon, one per line, formatted as CobaltStrikeParser --json (Python json.dumps) prints them.
      return result.configs.map((c) => `${formatPythonJson(toJpcertJson(c, { bugCompatible: options.bugCompatible === true }))}\n`).join('');
    case 'profile':
      return result.configs.map((c) => `# ${path} @ ${c.inputOffset}\n${toMalleableProfile(c)}`).join('\n');
  }
}

function registerParse(cs: Command): void {
  cs.command('parse')
    .description('Extract Cobalt Strike beacon configs and stagers from files (stages, DLLs, loaders, memory images)')
    .argument('<files...>', 'files to parse')
    .option('--format <format>', `output format: ${CS_FORMATS.join(', ')}`, 'native')
    .option('--bug-compatible', 'jpcert format: reproduce CobaltStrikeParser bugs (SSH_Banner, spoofed execute entries)')
    .action(async (files: string[], raw: { format: string; bugCompatible?: boolean }) => {
      if (!(CS_FORMATS as readonly string[]).includes(raw.format)) {
        throw new AppError('BAD_REQUEST', `unknown format ${raw.format}; use one of ${CS_FORMATS.join(', ')}`);
      }
      const options: CsParseOptions = { format: raw.format as CsFormat, bugCompatible: raw.bugCompatible === true };
      let missing = 0;
      for (const file of files) {
        const result = await parseCsFile(file);
        process.stdout.write(renderCsResult(file, result, options));
        for (const error of result.errors) process.stderr.write(`malpipe cs: ${file}: ${error.code}: ${error.message}\n`);
        if (result.configs.length === 0 && result.stagers.length === 0) {
          missing++;
          process.stderr.write(`malpipe cs: ${file}: no beacon config found\n`);
        }
      }
      if (missing > 0) process.exitCode = 1;
    });
}

/**
 * `malpipe cs ...`: a command group. Subcommands register on the group (`cs parse` here; `cs probe` joins with
 * one more `registerX(cs)` line below).
 */
export function registerCs(program: Command): void {
  const cs = program.command('cs').description('Cobalt Strike beacon analysis');
  registerParse(cs);
  registerCsProbe(cs);
}
