import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs a module snippet in a fresh Node with `env` added: the switch is read once, when the addon loads. */
function probe(code: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}\n${stderr}`)),
    );
  });
}

const CODE = `
import { native } from '@malpipe/native';
import { nativeFuzzyHashes } from '@malpipe/analyzers/hashes/fuzzy-hashes';
import { nativeScanBeaconStructures } from '@malpipe/analyzers/cobaltstrike/find-config-blocks';
console.log(JSON.stringify({ addon: native !== null, fuzzy: nativeFuzzyHashes !== undefined, scan: nativeScanBeaconStructures !== undefined }));
`;

describe('MALPIPE_NATIVE=0', () => {
  it('turns every accelerator off, so the TypeScript twins run', async () => {
    expect(JSON.parse(await probe(CODE, { MALPIPE_NATIVE: '0' }))).toEqual({ addon: false, fuzzy: false, scan: false });
  });

  it.runIf(process.env.CI === 'true')('leaves them on otherwise (CI builds the addon)', async () => {
    expect(JSON.parse(await probe(CODE, { MALPIPE_NATIVE: '1' }))).toEqual({ addon: true, fuzzy: true, scan: true });
  });
});
