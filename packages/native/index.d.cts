/** The functions the C++ addon exports; each file in src/ adds its own. */
export interface NativeAccelerators {
  /** Placeholder member so the interface is never empty; the owners of src/*.cc add their functions here. */
  readonly __brand?: 'malpipe-native';
}

/** Null when the addon was not built or MALPIPE_NATIVE=0: callers use their TypeScript twin. */
export declare const native: NativeAccelerators | null;
