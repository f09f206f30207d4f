import { z } from 'zod';

/**
 * The slices of the built-in analysers' results the dashboard renders (their full types live in
 * @malpipe/analyzers). Results are stored data from another component, possibly older or newer than this
 * build, so each view parses its slice and falls back to the raw JSON view when the shape does not match.
 * Optional collections default to empty so an additive change upstream does not hide a whole section.
 */

const str = z.string();
const num = z.number();
const strings = z.array(z.string()).default([]);

export const PeResultSchema = z.object({
  format: z.string().nullable(),
  size: num,
  entropy: num,
  fileHeader: z
    .object({
      machineName: str,
      numberOfSections: num,
      timestamp: num,
      timestampIso: str,
      characteristicsFlags: strings,
      isDll: z.boolean(),
    })
    .nullable(),
  optionalHeader: z
    .object({
      linkerVersion: str,
      addressOfEntryPoint: num,
      entryPointSection: z.string().nullable(),
      imageBase: str,
      sizeOfImage: num,
      checksum: num,
      computedChecksum: num,
      subsystemName: str,
      operatingSystemVersion: str,
      dllCharacteristicsFlags: strings,
    })
    .nullable(),
  sections: z
    .array(
      z.object({
        name: str,
        virtualAddress: num,
        virtualSize: num,
        rawOffset: num,
        rawSize: num,
        permissions: str,
        characteristicsFlags: strings,
        entropy: z.number().nullable(),
        md5: z.string().nullable(),
      }),
    )
    .default([]),
  imports: z
    .array(
      z.object({
        dll: str,
        functions: z.array(z.object({ name: z.string().nullable(), ordinal: z.number().nullable() })).default([]),
      }),
    )
    .default([]),
  delayImports: z
    .array(
      z.object({
        dll: str,
        functions: z.array(z.object({ name: z.string().nullable(), ordinal: z.number().nullable() })).default([]),
      }),
    )
    .default([]),
  imphash: z.string().nullable().default(null),
  exports: z
    .object({
      dllName: z.string().nullable(),
      numberOfFunctions: num,
      functions: z
        .array(z.object({ ordinal: num, name: z.string().nullable(), rva: num, forwarder: z.string().nullable() }))
        .default([]),
    })
    .nullable()
    .default(null),
  resources: z
    .object({
      types: z.array(z.object({ type: str, count: num, languages: z.array(num).default([]), totalSize: num })).default([]),
      totalEntries: num,
      totalSize: num,
    })
    .nullable()
    .default(null),
  versionInfo: z
    .object({
      fileVersion: z.string().nullable(),
      productVersion: z.string().nullable(),
      strings: z.record(z.string(), z.string()).default({}),
    })
    .nullable()
    .default(null),
  richHeader: z
    .object({
      offset: num,
      key: num,
      entries: z.array(z.object({ compId: num, productId: num, build: num, count: num })).default([]),
      checksumValid: z.boolean(),
      richHash: str,
    })
    .nullable()
    .default(null),
  codeView: z.object({ signature: str, pdbPath: str, guid: str, age: num }).nullable().default(null),
  tls: z.object({ callbackCount: num, callbacks: strings }).nullable().default(null),
  authenticode: z
    .object({ offset: num, size: num, withinFile: z.boolean(), certificateType: z.number().nullable() })
    .nullable()
    .default(null),
  clr: z
    .object({ headerVersion: str, runtimeVersion: z.string().nullable(), flagNames: strings })
    .nullable()
    .default(null),
  overlay: z.object({ offset: num, size: num, entropy: num, isSignatureOnly: z.boolean() }).nullable().default(null),
  anomalies: strings,
  warnings: strings,
});
export type PeResult = z.infer<typeof PeResultSchema>;

export const ElfResultSchema = z.object({
  class: z.string().nullable(),
  endianness: z.string().nullable(),
  size: num,
  entropy: num,
  header: z
    .object({
      osAbiName: str,
      typeName: str,
      isPie: z.boolean(),
      machineName: str,
      entry: str,
    })
    .nullable(),
  programHeaders: z
    .array(
      z.object({
        typeName: str,
        offset: num,
        virtualAddress: str,
        fileSize: num,
        memorySize: num,
        permissions: str,
      }),
    )
    .default([]),
  interpreter: z.string().nullable().default(null),
  sections: z
    .array(
      z.object({
        index: num,
        name: str,
        typeName: str,
        flagLetters: str,
        address: str,
        offset: num,
        size: num,
        entropy: z.number().nullable(),
      }),
    )
    .default([]),
  dynamic: z
    .object({
      needed: strings,
      soname: z.string().nullable(),
      rpath: z.string().nullable(),
      runpath: z.string().nullable(),
    })
    .nullable()
    .default(null),
  symbols: z.object({ static: num, dynamic: num }).nullable().default(null),
  buildId: z.string().nullable().default(null),
  stripped: z.boolean().default(false),
  anomalies: strings,
  warnings: strings,
});
export type ElfResult = z.infer<typeof ElfResultSchema>;

export const ArchiveResultSchema = z.object({
  format: str,
  entries: z
    .array(
      z.object({
        path: str,
        storedPath: z.string().optional(),
        size: z.number().nullable(),
        compressedSize: z.number().nullable(),
        encrypted: z.boolean(),
        encryption: z.string().optional(),
        extracted: z.boolean(),
        reason: z.string().optional(),
        password: z.string().optional(),
        unsafePath: z.boolean().optional(),
        partial: z.boolean().optional(),
      }),
    )
    .default([]),
  extractedCount: num,
  extractedBytes: num,
  encrypted: z.boolean(),
});
export type ArchiveResult = z.infer<typeof ArchiveResultSchema>;

export const StringsResultSchema = z.object({
  counts: z.record(z.string(), num).default({}),
  total: num,
  strings: z
    .array(z.object({ offset: num, encoding: str, value: str, truncated: z.boolean().optional() }))
    .default([]),
  truncated: z.boolean(),
});
export type StringsResult = z.infer<typeof StringsResultSchema>;

export const IocResultSchema = z.object({
  source: str,
  encoding: z.string().optional(),
  counts: z.record(z.string(), num).default({}),
  total: num,
  truncated: z.boolean(),
});
export type IocResult = z.infer<typeof IocResultSchema>;

export const YaraResultSchema = z.object({
  engine: z.string().nullable(),
  rulesetVersion: z.string().nullable(),
  matches: z
    .array(
      z.object({
        rule: str,
        namespace: str,
        tags: strings,
        meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        strings: z.array(z.object({ identifier: str, offset: num, length: num })).default([]),
      }),
    )
    .default([]),
  skipped: z.string().optional(),
});
export type YaraResult = z.infer<typeof YaraResultSchema>;

export const HashesResultSchema = z.object({ ssdeep: z.string().nullable(), tlsh: z.string().nullable() });

const JsonValueSchema: z.ZodType<unknown> = z.unknown();

/** One decoded beacon configuration (the analyser's native view; also the API's stored config). */
export const BeaconConfigSchema = z.object({
  offset: num,
  inputOffset: num.optional(),
  xorKey: z.number().nullable().default(null),
  source: str,
  architecture: z.string().nullable(),
  version: z.object({ name: str, number: z.string().nullable() }),
  trial: z.boolean().default(false),
  settings: z
    .array(z.object({ id: num, name: str, type: str, value: JsonValueSchema, raw: z.string().optional() }))
    .default([]),
  c2: z.object({ hosts: strings, hostsIdna: strings, urls: strings }),
  publicKey: z
    .object({ md5: str, sha256: str, bits: z.number().nullable(), knownPrivateKey: z.boolean() })
    .nullable()
    .default(null),
  watermark: z.number().nullable(),
  guardrails: z
    .object({ environmentKey: z.string().nullable(), checksumVerified: z.boolean() })
    .nullable()
    .default(null),
  issues: z.array(z.object({ code: str, message: str })).default([]),
});
export type BeaconConfig = z.infer<typeof BeaconConfigSchema>;

export const CobaltStrikeResultSchema = z.object({
  beaconDetected: z.boolean(),
  configs: z.array(BeaconConfigSchema).default([]),
  stagers: z
    .array(
      z.object({
        kind: str,
        arch: str,
        offset: num,
        host: z.string().nullable(),
        port: z.number().nullable(),
        uri: z.string().nullable(),
        userAgent: z.string().nullable().default(null),
        tls: z.boolean().default(false),
        pipeName: z.string().nullable().default(null),
        watermark: z.number().nullable(),
        url: z.string().nullable(),
      }),
    )
    .default([]),
  errors: z.array(z.object({ code: str, message: str, offset: z.number().optional() })).default([]),
});
export type CobaltStrikeResult = z.infer<typeof CobaltStrikeResultSchema>;

/** The outcome of reading a result with its schema: the typed value, or why the raw view is shown instead. */
export type ParsedResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export function parseResult<T>(schema: z.ZodType<T>, result: unknown): ParsedResult<T> {
  const parsed = schema.safeParse(result);
  if (parsed.success) return { ok: true, value: parsed.data };
  const first = parsed.error.issues[0];
  const where = first === undefined || first.path.length === 0 ? 'result' : first.path.join('.');
  return { ok: false, problem: `${where}: ${first?.message ?? 'unexpected shape'}` };
}
