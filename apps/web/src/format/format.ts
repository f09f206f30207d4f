/** Display formatting shared by every page: sizes, dates, durations, hashes. Pure and locale-independent. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `0 B`, `999 B`, `1.5 KiB`, `12.3 MiB`: binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** `1,234,567`: digit groups for exact sizes and counts. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '?';
  const sign = value < 0 ? '-' : '';
  const [whole = '0', fraction] = Math.abs(value).toString().split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? `${sign}${grouped}` : `${sign}${grouped}.${fraction}`;
}

/** `2026-11-27 18:59:20 UTC`; the input unchanged when it is not a date. Analysts compare times across teams: always UTC. */
export function formatDate(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `just now`, `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`, or the date beyond 30 days; `in ...` for the future. */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  const seconds = Math.round((now - time) / 1000);
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  let text: string;
  if (abs < 5) return 'just now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86_400) text = `${Math.floor(abs / 3600)} h`;
  else if (abs < 30 * 86_400) text = `${Math.floor(abs / 86_400)} d`;
  else return formatDate(iso).slice(0, 10);
  return future ? `in ${text}` : `${text} ago`;
}

/** `850 ms`, `12.4 s`, `3 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/** The time between two ISO timestamps, or null when either is missing or invalid. */
export function durationBetween(startIso: string | null, endIso: string | null): number | null {
  if (startIso === null || endIso === null) return null;
  const start = Date.parse(startIso);
  const end = Date.parse(endIso);
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return Math.max(0, end - start);
}

/** The first `length` characters followed by an ellipsis, for tables; full hashes go in a title. */
export function shortHash(hash: string, length = 12): string {
  return hash.length <= length ? hash : `${hash.slice(0, length)}…`;
}

/** `0x1000` (lower-case, at least `minDigits` digits). */
export function formatHex(value: number, minDigits = 1): string {
  if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) return String(value);
  return `0x${value.toString(16).padStart(minDigits, '0')}`;
}

/** Shannon entropy (0..8 bits per byte) as a fraction 0..1 for bars, clamped. */
export function entropyFraction(entropy: number | null): number {
  if (entropy === null || !Number.isFinite(entropy)) return 0;
  return Math.min(1, Math.max(0, entropy / 8));
}

/** A coarse reading of an entropy value: `packed` from 7.2 bits/byte (what the pe analyser tags high-entropy). */
export function entropyLevel(entropy: number | null): 'none' | 'low' | 'normal' | 'high' | 'packed' {
  if (entropy === null || !Number.isFinite(entropy)) return 'none';
  if (entropy >= 7.2) return 'packed';
  if (entropy >= 6.5) return 'high';
  if (entropy >= 1) return 'normal';
  return 'low';
}
