import { createHash } from 'node:crypto';
import type { PublicKeyInfo } from './beacon-config.js';

/**
 * DER public keys (trailing zeros removed) of team servers whose RSA private keys are public: leaked or cracked
 * builds (DidierStevensSuite 1768.json, "Has known private key"). With the private key, C2 traffic decrypts.
 */
export const LEAKED_PUBLIC_KEYS_DER: readonly string[] = [
  '30819f300d06092a864886f70d010101050003818d003081890281810080fa8dc59ec39b73d49523c640c1cdfabbb0f0b15e943f2429c0c360862c938fb474523a0116f2ea71877f24218fc85cd959017cd0f987ec443a731a4d29a7a8fe1312d2edace8a736515d120c8f7b5e0008b7403ee3511435367f223c474ec2c0913c1dede6c1124b5089dc2aec3ef37ce24009a590ef4b8398f52e75c1f2ed0203010001',
  '30819f300d06092a864886f70d010101050003818d003081890281810084a5630da30447225f084704e282f6bea8bbb0a7043c30d0a85a0ab530d500ab7eb4e76eb6625ff6d65aae874aec7d2e5d2328fec7facabbec4d7d95e90276e6067f35aff4eb50285dcfd9a507a72c7d2e1e759ad171e55cf1b54a65584fd6dff42cd225b75ce08a1eac05b73b8a908e83a5d4784059d41434be80a37909255b0203010001',
  '30819f300d06092a864886f70d010101050003818d003081890281810093fad989ca301e1c35ea388ed3e0f8d103d7a021ee7dfc75d7084c7bcdf6a799fb4f0f8f008202f7b2c529632bf63572d2dc5029b7857790c5d2006d480100679c29bbfef2a021ad88fb6a0e26d3cd5bd7f6ddd620390cd4748f95ca11b86b641973a1a9b6cde3fa10987911a9ff4a57e4af084f810d40cef98ceb8956e6eb230203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100a0c19b6be56991586a976ba6f176a4035268fe5d4faf038ccad9becd7f3ab8ab2d78df8e7cb9fc5789d38c8e848b54fdc1ab226059a99dd0a618ed8b776c39856d66ac862edff8e61d5a90cd8b177902f70638ecd085284467fd14cfc086fe073df6cc32b2c9f1b3460183d1e46b85a1d2e7f13bcf4a480a6e2de80b1398b5fd0203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100a2e105c86c51aa20f5acde04b49423b30951600b0741533cd4e31fb0e24cf86b88c4b0e6596663d2425dcfd37dfe743146b06396b2bad828e9461c03cb052b71e5bb7cb17d2afc459007870a5d445ee3dadb5d267a197451e79fd4159347128e9de84da54bb32981042cf637fae69bf71f48046c0f63f49f95cb9af96d7aa6110203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100a70991d69d816a601ffa80976473830f0d3b41276d2790401ddedb18e2d3cab3c315e3222325be42b65adb2878f33f5a03ff5010b23e842a510c1482ad6a42f1e7e5726eb31813e7437640ed7879955f401e172c34d3517241596dd41f8e48d3d1b1c288e6c8752ff65dc27acccba4ba9cd6d0e4de6196cea4da480d3b99d0ed0203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100a738cde75f1fbb1c18646c377e03016b162b12ba72bdf7dc36b4cd2e4e9bae12205a95c26170bf908105ad7fa4bbccfa798632261bed9870f975f20794e1fe499523d71f08a56cae0315bfde3d6c8a16386b03b7a6551aa1336d50325a3500db27d78ad8fd13b6a73b9fb7c3fb4d7a088e323f07618656ecd83595fa5f8236130203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100a8b144135b042b57a1ca2048f5e0c624b98352933d53ca67003f97e8c3639898674b74a4de9406e05f85678a2ac13b653e7ab4fadf94e771d97ba2ee0dbe5876be50255f00404e094aecbc3ed3b286ac81f9b26a1e26df2c0363d4859e63d4c178d00e3228785f87e48623e64baa0624b88f8c969fd0be4f0e009edc107de5090203010001',
  '30819f300d06092a864886f70d010101050003818d0030818902818100b22ee1f895f1d872618c1090316c5f5be9488c11056503b8c77fc2969850fe63f6fcd32708e8a5e49095c04526d73a509a46c4351640ce94598a4005d9b0af3b454e0b572002f524f88c34b5d3fbe2ec6508b7dbd6528b340d7fa6bf9a4529635e97845e0329b343b3e6d290665cc3fe852ac135524e7c0a08ab6830a0b010570203010001',
];

const LEAKED = new Set(LEAKED_PUBLIC_KEYS_DER);

function digest(algorithm: string, bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

/** Removes the zero padding after the DER key (what JPCERT's PublicKey_MD5 is computed over). */
export function stripTrailingZeros(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** One DER TLV at `pos` (definite lengths up to 3 bytes), or null when it does not fit. */
function readTlv(b: Uint8Array, pos: number, limit: number): Tlv | null {
  if (pos + 2 > limit) return null;
  const tag = b[pos] as number;
  let length = b[pos + 1] as number;
  let start = pos + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > limit) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | (b[start + i] as number);
    start += count;
  }
  return start + length > limit ? null : { tag, start, end: start + length };
}

const RSA_OID = '2a864886f70d010101';

/** Modulus and exponent of a DER SubjectPublicKeyInfo holding an RSA key, or null. */
export function parseRsaSpki(der: Uint8Array): { modulus: Uint8Array; exponent: number } | null {
  const spki = readTlv(der, 0, der.length);
  if (!spki || spki.tag !== 0x30) return null;
  const algorithm = readTlv(der, spki.start, spki.end);
  if (!algorithm || algorithm.tag !== 0x30) return null;
  const oid = readTlv(der, algorithm.start, algorithm.end);
  if (!oid || oid.tag !== 0x06 || Buffer.from(der.subarray(oid.start, oid.end)).toString('hex') !== RSA_OID) return null;
  const bits = readTlv(der, algorithm.end, spki.end);
  if (!bits || bits.tag !== 0x03 || der[bits.start] !== 0) return null;
  const key = readTlv(der, bits.start + 1, bits.end);
  if (!key || key.tag !== 0x30) return null;
  const n = readTlv(der, key.start, key.end);
  if (!n || n.tag !== 0x02) return null;
  const e = readTlv(der, n.end, key.end);
  if (!e || e.tag !== 0x02 || e.end - e.start > 6) return null;
  let start = n.start;
  while (start < n.end - 1 && der[start] === 0) start++;
  let exponent = 0;
  for (let i = e.start; i < e.end; i++) exponent = exponent * 256 + (der[i] as number);
  return { modulus: der.subarray(start, n.end), exponent };
}

/** Setting 7: digests, RSA modulus/exponent (when the DER parses) and the leaked-key flag. */
export function decodePublicKey(field: Uint8Array): PublicKeyInfo {
  const der = stripTrailingZeros(field);
  const derHex = Buffer.from(der).toString('hex');
  const rsa = parseRsaSpki(der);
  return {
    der: derHex,
    md5: digest('md5', der),
    sha1: digest('sha1', der),
    sha256: digest('sha256', der),
    md5FullField: digest('md5', field),
    modulus: rsa ? Buffer.from(rsa.modulus).toString('hex') : null,
    exponent: rsa ? rsa.exponent : null,
    bits: rsa ? rsa.modulus.length * 8 - Math.clz32(rsa.modulus[0] ?? 0) + 24 : null,
    knownPrivateKey: LEAKED.has(derHex),
  };
}
