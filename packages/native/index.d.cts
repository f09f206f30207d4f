/** The functions the C++ addon exports; each file in src/ adds its own. */
export interface NativeAccelerators {
  // --- beacon-scan.cc ---
  /**
   * Twin of `scanBeaconStructuresTs` (packages/analyzers/src/cobaltstrike/find-config-blocks.ts), which defines the
   * semantics: XOR'd config header candidates starting in [from, to) and aligned u32-1 runtime-array probes, as
   * buffer offsets in ascending order. Reads `bytes` in place. `keyMask` is null (every key) or 256 flags;
   * `scalar` forces the portable loop (tests compare it with the SIMD one). `from`/`to` must be safe integers.
   */
  readonly scanBeaconStructures?: (
    bytes: Uint8Array,
    from: number,
    to: number,
    keyMask: Uint8Array | null,
    ones: boolean,
    maxCandidates: number,
    maxOnes: number,
    scalar?: boolean,
  ) => { readonly configs: Float64Array; readonly ones: Float64Array };
  /** Which loop `scanBeaconStructures` runs on this CPU. */
  readonly beaconScanSimd?: 'avx2' | 'scalar';
  // --- end beacon-scan.cc ---
  // --- fuzzy-hash.cc ---
  /**
   * ssdeep and TLSH of `bytes` in one pass, read in place: the same strings as `ssdeepHash` and `tlshHash`
   * (packages/analyzers/src/hashes), which define the semantics; `tlsh` is null where `tlshHash` returns null.
   * Throws a RangeError above 2^32 - 1 bytes.
   */
  readonly fuzzyHashes?: (bytes: Uint8Array) => { readonly ssdeep: string; readonly tlsh: string | null };
  /** TLSH's length byte for `length` in [1, 2^32 - 1]; exposed so a test compares each step with the TypeScript formula. */
  readonly tlshLengthCapture?: (length: number) => number;
  // --- end fuzzy-hash.cc ---
  /** Placeholder member so the interface is never empty; the owners of src/*.cc add their functions here. */
  readonly __brand?: 'malpipe-native';
}

/** Null when the addon was not built or MALPIPE_NATIVE=0: callers use their TypeScript twin. */
export declare const native: NativeAccelerators | null;
