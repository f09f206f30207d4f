export interface SanitizedPath {
  /** Relative, forward-slash path without `.`/`..`/empty components, drive letters or control characters. */
  readonly path: string;
  /** True when the stored name could escape the extraction directory or smuggle characters. */
  readonly unsafe: boolean;
}

/**
 * Turns a member name from a hostile archive into a safe relative path. Flags (does not reject) parent
 * references, absolute and drive-letter paths, backslashes (path separators on Windows) and NUL or other
 * control characters. `fallback` names members whose path sanitises to nothing.
 */
export function sanitizeMemberPath(stored: string, fallback: string): SanitizedPath {
  let unsafe = false;
  let name = stored;
  const visible = Array.from(name, (c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '_' : c)).join('');
  if (visible !== name) {
    unsafe = true;
    name = visible;
  }
  if (name.includes('\\')) {
    unsafe = true;
    name = name.replace(/\\/g, '/');
  }
  if (/^[a-zA-Z]:/.test(name)) {
    unsafe = true;
    name = name.slice(2);
  }
  if (name.startsWith('/')) unsafe = true;
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '..') {
      unsafe = true;
      continue;
    }
    if (part === '' || part === '.') continue;
    parts.push(part);
  }
  const path = parts.join('/');
  return { path: path === '' ? fallback : path, unsafe };
}

/** Last path component, used as the child's file name. */
export function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? path.slice(slash + 1) : path;
}
