import type { BeaconConfig, SettingRecord } from './beacon-config.js';
import { ipv4 } from './decode-settings.js';
import { recordNumber } from './parse-setting-records.js';
import {
  cString,
  decodeExecuteList,
  decodeInjectTransform,
  decodeRecoverProgram,
  decodeTransformProgram,
  describeExecuteEntry,
  latin1,
  type TransformStep,
} from './transform-programs.js';

const MAX_PLACEHOLDER = 4096;

/** Quotes a value as a malleable C2 string literal (non-printables as \xNN). */
export function profileString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

class ProfileWriter {
  readonly lines: string[] = [];
  #depth = 0;
  line(text: string): void {
    this.lines.push(`${'    '.repeat(this.#depth)}${text}`);
  }
  set(name: string, value: string): void {
    this.line(`set ${name} ${profileString(value)};`);
  }
  block(name: string, body: () => void): void {
    const start = this.lines.length;
    this.line(`${name} {`);
    this.#depth++;
    const before = this.lines.length;
    body();
    this.#depth--;
    // No empty blocks (dissect test_c2profile_no_empty_blocks).
    if (this.lines.length === before) this.lines.length = start;
    else this.line('}');
  }
}

function stepStatement(step: TransformStep): string | null {
  switch (step.op) {
    case 1:
    case 2:
    case 5:
    case 6:
      return `${step.name} ${profileString(String(step.argument))};`;
    case 3:
    case 4:
    case 8:
    case 11:
    case 12:
    case 13:
    case 15:
      return `${step.name};`;
    case 14:
      return `strrep ${profileString(String(step.argument))} ${profileString(step.argument2 ?? '')};`;
    default:
      return null;
  }
}

function writeClient(w: ProfileWriter, program: Uint8Array, get: boolean): void {
  const steps = decodeTransformProgram(program).steps;
  w.block('client', () => {
    for (const s of steps) {
      if (s.op === 10 || s.op === 16) {
        const text = String(s.argument);
        const colon = text.indexOf(':');
        w.line(colon < 0 ? `header ${profileString(text)} "";` : `header ${profileString(text.slice(0, colon))} ${profileString(text.slice(colon + 1).trim())};`);
      } else if (s.op === 9) {
        const text = String(s.argument);
        const eq = text.indexOf('=');
        w.line(eq < 0 ? `parameter ${profileString(text)} "";` : `parameter ${profileString(text.slice(0, eq))} ${profileString(text.slice(eq + 1))};`);
      }
    }
    // Each build section runs from its `build` step to the next one.
    let section: TransformStep[] | null = null;
    let name = '';
    const flush = (): void => {
      if (section === null) return;
      const body = section;
      w.block(name, () => {
        for (const s of body) {
          const statement = stepStatement(s);
          if (statement !== null) w.line(statement);
        }
      });
    };
    for (const s of steps) {
      if (s.op === 7) {
        flush();
        section = [];
        name = get ? 'metadata' : s.argument === 0 ? 'id' : 'output';
      } else if (section !== null && s.op !== 9 && s.op !== 10 && s.op !== 16) {
        section.push(s);
      }
    }
    flush();
  });
}

/** The server output block is the reverse of the beacon's recovery program (id 11). */
function writeServerOutput(w: ProfileWriter, program: Uint8Array): void {
  const steps = decodeRecoverProgram(program).steps;
  w.block('server', () => {
    w.block('output', () => {
      for (const s of [...steps].reverse()) {
        // Only the number of bytes the beacon strips is known, not their value (capped: the count is untrusted).
        if (s.op === 1 || s.op === 2) {
          const count = Number(s.argument);
          const placeholder = count <= MAX_PLACEHOLDER ? profileString('?'.repeat(count)) : `"" # ${count} bytes`;
          w.line(`${s.op === 1 ? 'append' : 'prepend'} ${placeholder};`);
        }
        else if (s.op !== 4) w.line(`${s.name};`);
      }
      if (steps.length > 0) w.line('print;');
    });
  });
}

/** A malleable C2 profile reconstructed from a config (like dissect's C2Profile.from_beacon_config). */
export function toMalleableProfile(config: BeaconConfig): string {
  const byId = new Map<number, SettingRecord>();
  for (const r of config.records) byId.set(r.id, r);
  const str = (id: number): string | null => {
    const r = byId.get(id);
    return r && r.typeCode === 3 ? cString(r.value) : null;
  };
  const num = (id: number): number | null => {
    const r = byId.get(id);
    return r ? recordNumber(r) : null;
  };
  const bytes = (id: number): Uint8Array | null => {
    const r = byId.get(id);
    return r && r.typeCode === 3 ? r.value : null;
  };
  const w = new ProfileWriter();
  w.line(`# Malleable C2 profile reconstructed by malpipe from a beacon config (${config.version.name}).`);
  w.line('# Values the config does not carry (server headers, stripped bytes) are not recoverable.');
  const sleep = num(3);
  if (sleep !== null) w.set('sleeptime', String(sleep));
  const jitter = num(5);
  if (jitter !== null) w.set('jitter', String(jitter));
  const ua = str(9);
  if (ua) w.set('useragent', ua);
  const pipe = str(15);
  if (pipe) w.set('pipename', pipe);
  const watermark = config.watermark;
  if (watermark !== null) w.line(`# watermark ${watermark}`);
  const domains = str(8) ?? '';
  const getUris = [...new Set(domains.split(',').filter((_, i) => i % 2 === 1).map((u) => u.trim()).filter((u) => u !== ''))];
  const protocol = num(1) ?? 0;
  const http = protocol === 0 || (protocol & 0x8) !== 0;
  if (http || byId.has(12)) {
    w.block('http-get', () => {
      if (getUris.length > 0) w.set('uri', getUris.join(' '));
      const verb = str(26);
      if (verb) w.set('verb', verb);
      const client = bytes(12);
      if (client) writeClient(w, client, true);
      const recover = bytes(11);
      if (recover) writeServerOutput(w, recover);
    });
    w.block('http-post', () => {
      const uri = str(10);
      if (uri) w.set('uri', uri);
      const verb = str(27);
      if (verb) w.set('verb', verb);
      const client = bytes(13);
      if (client) writeClient(w, client, false);
    });
  }
  const hostHeader = str(54);
  const headersRemove = str(59);
  if (hostHeader || headersRemove) {
    w.block('http-config', () => {
      if (headersRemove) w.set('headers_remove', headersRemove.split('\r\n').filter((h) => h !== '').join(','));
      if (hostHeader) w.line(`# host header: ${profileString(hostHeader.trim())}`);
    });
  }
  const dnsIds = [6, 19, 20, 60, 61, 62, 63, 64, 65, 66];
  if (dnsIds.some((id) => byId.has(id) && (byId.get(id)?.typeCode !== 3 || str(id) !== ''))) {
    w.block('dns-beacon', () => {
      const idle = num(19);
      if (idle !== null) w.set('dns_idle', ipv4(idle));
      const maxdns = num(6);
      if (maxdns !== null) w.set('maxdns', String(maxdns));
      const dnsSleep = num(20);
      if (dnsSleep !== null) w.set('dns_sleep', String(dnsSleep));
      const names: [number, string][] = [[60, 'beacon'], [61, 'get_A'], [62, 'get_AAAA'], [63, 'get_TXT'], [64, 'put_metadata'], [65, 'put_output'], [66, 'dns_resolver']];
      for (const [id, name] of names) {
        const v = str(id);
        if (v) w.set(name, v);
      }
    });
  }
  w.block('post-ex', () => {
    const x86 = str(29);
    const x64 = str(30);
    if (x86) w.set('spawnto_x86', x86);
    if (x64) w.set('spawnto_x64', x64);
  });
  w.block('stage', () => {
    const cleanup = num(38);
    if (cleanup !== null) w.set('cleanup', cleanup ? 'true' : 'false');
    const nook = num(41);
    if (nook !== null) w.set('sleep_mask', nook !== 0 ? 'true' : 'false');
    const pe = config.pe;
    if (pe) {
      w.set(pe.architecture === 'x64' ? 'magic_mz_x64' : 'magic_mz_x86', pe.magicMz);
      w.set('magic_pe', pe.magicPe);
      if (pe.stagePrepend) w.line(`# stage prepend: ${pe.stagePrepend}`);
      if (pe.stageAppend) w.line(`# stage append: ${pe.stageAppend}`);
    }
  });
  w.block('process-inject', () => {
    const allocator = num(52);
    if (allocator !== null) w.set('allocator', allocator === 1 ? 'NtMapViewOfSection' : 'VirtualAllocEx');
    const minAlloc = num(45);
    if (minAlloc !== null) w.set('min_alloc', String(minAlloc));
    const startRwx = num(43);
    if (startRwx !== null) w.set('startrwx', startRwx === 0x40 ? 'true' : 'false');
    const useRwx = num(44);
    if (useRwx !== null) w.set('userwx', useRwx === 0x40 ? 'true' : 'false');
    for (const [id, name] of [[46, 'transform-x86'], [47, 'transform-x64']] as const) {
      const t = bytes(id);
      const decoded = t ? decodeInjectTransform(t) : null;
      if (decoded) {
        w.block(name, () => {
          if (decoded.prepend.length > 0) w.line(`prepend ${profileString(latin1(decoded.prepend))};`);
          if (decoded.append.length > 0) w.line(`append ${profileString(latin1(decoded.append))};`);
        });
      }
    }
    const execute = bytes(51);
    if (execute) {
      const entries = decodeExecuteList(execute).entries;
      w.block('execute', () => {
        for (const e of entries) w.line(`${describeExecuteEntry(e)};`);
      });
    }
  });
  return `${w.lines.join('\n')}\n`;
}
