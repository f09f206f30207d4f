import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A self-signed certificate made at test time with `openssl req` (nothing secret is kept in the repository). */
export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * Makes a throw-away self-signed RSA certificate for 127.0.0.1 with the given serial (the Cobalt Strike default
 * keystore uses 0x8BB00EE). Returns null when openssl is not installed so callers can skip visibly.
 */
export async function makeSelfSignedCertificate(subject = '/CN=Major Cobalt Strike/O=cobaltstrike/OU=AdvancedPenTesting', serial = '0x8BB00EE'): Promise<TestCertificate | null> {
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-cert-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subject, '-set_serial', serial,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
