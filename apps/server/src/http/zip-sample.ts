import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

/** The password every malware exchange uses; it only keeps scanners and mail filters from eating the file. */
export const SAMPLE_ZIP_PASSWORD = 'infected';

/**
 * Wraps a sample in a ZIP encrypted with ZipCrypto (not AES: the tools analysts unzip with, and the
 * convention of malware exchanges, expect ZipCrypto + `infected`).
 */
export async function zipSample(fileName: string, content: Uint8Array): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    password: SAMPLE_ZIP_PASSWORD,
    zipCrypto: true,
    useWebWorkers: false,
  });
  await writer.add(fileName, new Uint8ArrayReader(content));
  return writer.close();
}
