import type { Indicator, IndicatorFlag, IndicatorType } from '@malpipe/core';

export interface IndicatorSinkOptions {
  readonly maxIndicators: number;
  readonly dropReserved: boolean;
  /** Describes where the match at `index` (in the scanned text) was seen. */
  readonly contextAt?: (index: number, length: number) => string | undefined;
}

/** Collects indicators: deduplicated by (type, value), first occurrence wins, bounded. */
export class IndicatorSink {
  readonly #options: IndicatorSinkOptions;
  readonly #seen = new Set<string>();
  readonly #indicators: Indicator[] = [];

  constructor(options: IndicatorSinkOptions) {
    this.#options = options;
  }

  get full(): boolean {
    return this.#indicators.length >= this.#options.maxIndicators;
  }

  get indicators(): Indicator[] {
    return this.#indicators;
  }

  add(type: IndicatorType, value: string, index: number, length: number, flags: readonly IndicatorFlag[] = []): void {
    if (this.full) return;
    if (this.#options.dropReserved && flags.includes('reserved')) return;
    const key = `${type}\u0000${value}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const context = this.#options.contextAt?.(index, length);
    this.#indicators.push({
      type,
      value,
      ...(context === undefined ? {} : { context }),
      ...(flags.length === 0 ? {} : { flags: [...flags] }),
    });
  }
}
