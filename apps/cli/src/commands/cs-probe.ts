import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { z } from 'zod';
import { AppError, ERROR_CODES, type ErrorCode } from '@malpipe/core';
import { toJpcertJson, toMalleableProfile, toNativeJson } from '@malpipe/analyzers/cobaltstrike/index';
import { PROBE_DEFAULTS, probeTeamServer, type ProbeOptions, type ProbeResult } from '@malpipe/server/cobaltstrike/probe/probe-team-server';
import { RateLimiter } from '@malpipe/server/cobaltstrike/probe/rate-limiter';
import { ConfigDetailSchema, ServerListResponseSchema } from '@malpipe/server/cobaltstrike/cobaltstrike-schemas';
import { resolveClientSettings } from '../cli-config.js';

export const CS_PROBE_FORMATS = ['native', 'jpcert', 'profile'] as const;
type CsProbeFormat = (typeof CS_PROBE_FORMATS)[number];

interface ProbeFlags {
  readonly format: string;
  readonly allowPrivate?: boolean;
  readonly bugCompatible?: boolean;
  readonly proxy?: string;
  readonly timeout: string;
  readonly maxBody: string;
  readonly retries: string;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new AppError('VALIDATION_FAILED', `${flag} must be a non-negative integer, got ${value}`);
  return n;
}

/** One JSON line per target: every attempt (URL, status, headers, certificate, sizes, error) and its configs. */
export function renderProbeNative(result: ProbeResult): string {
  return `${JSON.stringify({
    target: result.target,
    host: result.host,
    addresses: result.addresses,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    attempts: result.attempts.map(({ body: _body, configs, ...attempt }) => ({ ...attempt, configs: configs.map(toNativeJson) })),
  })}\n`;
}

export function renderProbe(result: ProbeResult, format: CsProbeFormat, bugCompatible: boolean): string {
  switch (format) {
    case 'native':
      return renderProbeNative(result);
    case 'jpcert':
      return result.configs.map((c) => `${JSON.stringify(toJpcertJson(c, { bugCompatible }))}\n`).join('');
    case 'profile':
      return result.attempts
        .flatMap((a) => a.configs.map((c) => `# ${a.url} (${a.arch ?? 'custom URI'})\n${toMalleableProfile(c)}`))
        .join('\n');
  }
}

function registerProbe(cs: Command): void {
  cs.command('probe')
    .description('Download and parse the beacon stage of suspected team servers (checksum8 URIs, x86 and x64, http and https)')
    .argument('<targets...>', 'host:port, [v6]:port or http(s) URLs (a stager URL is fetched as is)')
    .option('--format <format>', `output format: ${CS_PROBE_FORMATS.join(', ')}`, 'native')
    .option('--allow-private', 'allow private, loopback, link-local and reserved addresses (lab use only)')
    .option('--bug-compatible', 'jpcert format: reproduce CobaltStrikeParser bugs')
    .option('--proxy <url>', 'outbound HTTP proxy (CONNECT), e.g. http://127.0.0.1:3128')
    .option('--timeout <ms>', 'cap on one request (connect, read and total)', '30000')
    .option('--max-body <bytes>', 'largest stage accepted', String(4 * 1024 * 1024))
    .option('--retries <n>', 'retries after a network failure', '1')
    .action(async (targets: string[], flags: ProbeFlags) => {
      if (!(CS_PROBE_FORMATS as readonly string[]).includes(flags.format)) {
        throw new AppError('BAD_REQUEST', `unknown format ${flags.format}; use one of ${CS_PROBE_FORMATS.join(', ')}`);
      }
      const timeout = positiveInt(flags.timeout, '--timeout');
      const options: ProbeOptions = {
        allowPrivate: flags.allowPrivate === true,
        proxy: flags.proxy ?? null,
        connectTimeoutMs: timeout,
        readTimeoutMs: timeout,
        totalTimeoutMs: timeout,
        maxBodyBytes: positiveInt(flags.maxBody, '--max-body'),
        retries: positiveInt(flags.retries, '--retries'),
        // One limiter for the whole run, so the per-host pace holds across targets naming the same host.
        rateLimiter: new RateLimiter({ globalIntervalMs: PROBE_DEFAULTS.globalIntervalMs, perHostIntervalMs: PROBE_DEFAULTS.perHostIntervalMs }),
      };
      let withoutConfig = 0;
      for (const target of targets) {
        let result: ProbeResult;
        try {
          result = await probeTeamServer(target, options);
        } catch (error) {
          // One refused or malformed target must not stop the others.
          withoutConfig++;
          const message = error instanceof AppError ? `${error.code}: ${error.message}` : String(error);
          process.stderr.write(`malpipe cs probe: ${target}: ${message}\n`);
          continue;
        }
        for (const a of result.attempts) {
          const what = a.error === null ? `HTTP ${a.status ?? '?'}, ${a.bodySize} bytes${a.truncated ? ' (truncated)' : ''}, ${a.configs.length} config(s)` : `${a.error.code} (${a.error.reason ?? 'error'}): ${a.error.message}`;
          process.stderr.write(`malpipe cs probe: ${a.url} [${a.arch ?? 'custom'}]: ${what}\n`);
        }
        process.stdout.write(renderProbe(result, flags.format as CsProbeFormat, flags.bugCompatible === true));
        if (result.configs.length === 0) withoutConfig++;
      }
      if (withoutConfig > 0) process.exitCode = 1;
    });
}

/**
 * Python's `json.dumps` with its defaults (`", "` / `": "` separators, non-ASCII escaped as \uXXXX): the exact
 * text of CobaltStrikeParser `--json`, which is what the JPCERT/CC files hold.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) ?? 'null';
    return typeof value === 'string' ? text.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
  }
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`)
    .join(', ')}}`;
}

async function getJson<T>(server: string, token: string, path: string, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(new URL(path, server.endsWith('/') ? server : `${server}/`), { headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    const code: ErrorCode = error?.code !== undefined && error.code in ERROR_CODES ? (error.code as ErrorCode) : 'UPSTREAM_FAILED';
    throw new AppError(code, error?.message ?? `${path}: HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new AppError('UPSTREAM_FAILED', `${path}: unexpected answer: ${parsed.error.message}`);
  return parsed.data;
}

/** `<ip>.<port>.config`, as in JPCERTCC/CobaltStrike-Config (IPv6 colons would not survive every file system). */
export function jpcertFileName(address: string, port: number): string {
  return `${address.replace(/:/g, '_')}.${port}.config`;
}

function registerExport(cs: Command): void {
  cs.command('export')
    .description('Write one JPCERT/CC-format <ip>.<port>.config file per team server known to a malpipe server')
    .argument('<dir>', 'output directory (created if missing)')
    .option('--server <url>', 'server URL (default: $MALPIPE_SERVER or http://127.0.0.1:8787)')
    .option('--token <token>', 'API token (default: $MALPIPE_TOKEN)')
    .action(async (dir: string, flags: { server?: string; token?: string }) => {
      const settings = resolveClientSettings(flags);
      if (settings.token === undefined) throw new AppError('UNAUTHORIZED', 'no API token: pass --token or set MALPIPE_TOKEN');
      await mkdir(dir, { recursive: true });
      let written = 0;
      const pageSize = 500;
      for (let offset = 0; ; offset += pageSize) {
        const page = await getJson(settings.server, settings.token, `api/v1/cobaltstrike/servers?limit=${pageSize}&offset=${offset}`, ServerListResponseSchema);
        for (const server of page.servers) {
          if (server.configIds.length === 0) continue;
          const details: z.infer<typeof ConfigDetailSchema>[] = [];
          for (const id of server.configIds) details.push(await getJson(settings.server, settings.token, `api/v1/cobaltstrike/configs/${id}`, ConfigDetailSchema));
          // JPCERT keeps one config per server; like CobaltStrikeParser, prefer the x86 stage.
          const chosen = details.filter((d) => d.jpcert !== null).sort((a, b) => Number(b.architecture === 'x86') - Number(a.architecture === 'x86'))[0];
          if (chosen?.jpcert == null) {
            process.stderr.write(`malpipe cs export: ${server.id}: no JPCERT view stored (configs only seen in samples)\n`);
            continue;
          }
          const file = join(dir, jpcertFileName(server.address ?? server.host, server.port));
          await writeFile(file, `${pythonJsonDumps(chosen.jpcert)}\n`);
          process.stdout.write(`${file}\n`);
          written++;
        }
        if (page.servers.length < pageSize) break;
      }
      if (written === 0) process.stderr.write('malpipe cs export: no team server with a config\n');
    });
}

/** Adds `cs probe` and `cs export` to the `cs` command group (called from cs.ts). */
export function registerCsProbe(cs: Command): void {
  registerProbe(cs);
  registerExport(cs);
}
