import { AppError } from '@malpipe/core';
import type { SampleRef, SampleSource, SourceLookup, SourceReport } from './sample-source.js';
import { isVirusTotalError, type VirusTotalClient, type VtFile } from './virustotal-client.js';

/**
 * VirusTotal as a SampleSource: the file report first (1 request), then the download (premium; a public key
 * gets ForbiddenError). The report is returned even when the download fails, so it can be stored on its own.
 */
/** After a ForbiddenError on download (a public key), do not spend quota on downloads for this long. */
const DOWNLOAD_FORBIDDEN_MS = 3600_000;

export class VirusTotalSource implements SampleSource {
  readonly name = 'virustotal';
  readonly #client: VirusTotalClient;
  readonly #now: () => number;
  #downloadForbidden: { readonly until: number; readonly error: AppError } | null = null;

  constructor(client: VirusTotalClient, options: { readonly now?: () => number } = {}) {
    this.#client = client;
    this.#now = options.now ?? Date.now;
  }

  accepts(ref: SampleRef): boolean {
    return ref.hash !== undefined;
  }

  async lookup(
    ref: SampleRef,
    signal: AbortSignal,
    known?: { readonly report?: SourceReport },
  ): Promise<SourceLookup> {
    if (ref.hash === undefined)
      throw new AppError('UNSUPPORTED_INPUT', 'virustotal looks samples up by hash only');
    let report = known?.report;
    if (report === undefined) {
      try {
        report = toSourceReport(await this.#client.getFile(ref.hash, signal));
      } catch (error) {
        if (isVirusTotalError(error, 'NotFoundError')) return { status: 'not-found' };
        throw error;
      }
    }
    // Downloads are premium-only: with a public key, one 403 is enough to stop asking for a while.
    const forbidden = this.#downloadForbidden;
    if (forbidden !== null && forbidden.until > this.#now())
      return { status: 'found', sha256: report.sha256, report, file: null, fileError: forbidden.error };
    try {
      const bytes = await this.#client.downloadFile(report.sha256, signal);
      return {
        status: 'found',
        sha256: report.sha256,
        report,
        file: { bytes, fileName: report.names[0] ?? null, tags: report.tags },
        fileError: null,
      };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (isVirusTotalError(error, 'ForbiddenError'))
        this.#downloadForbidden = { until: this.#now() + DOWNLOAD_FORBIDDEN_MS, error };
      return { status: 'found', sha256: report.sha256, report, file: null, fileError: error };
    }
  }

  async test(signal: AbortSignal): Promise<string> {
    // The EICAR test file: always present, so a 200 proves the key works (and spends one request).
    const file = await this.#client.getFile(
      '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
      signal,
    );
    return `report for ${file.id} readable`;
  }
}

/** Detections, names, first submission and tags, plus the raw attributes minus the bulky per-engine table. */
export function toSourceReport(file: VtFile): SourceReport {
  const a = file.attributes;
  const stats = a.last_analysis_stats;
  const verdicts: Record<string, string> = {};
  for (const [engine, result] of Object.entries(a.last_analysis_results)) {
    if (
      (result.category === 'malicious' || result.category === 'suspicious') &&
      typeof result.result === 'string'
    )
      verdicts[engine] = result.result;
  }
  const total = stats === undefined ? 0 : Object.values(stats).reduce((sum, n) => sum + n, 0);
  const names =
    a.meaningful_name === undefined
      ? a.names
      : [a.meaningful_name, ...a.names.filter((n) => n !== a.meaningful_name)];
  return {
    sha256: a.sha256,
    md5: a.md5 ?? null,
    sha1: a.sha1 ?? null,
    names: names.slice(0, 100),
    tags: a.tags,
    firstSeen:
      a.first_submission_date === undefined ? null : new Date(a.first_submission_date * 1000).toISOString(),
    detections: stats === undefined ? null : { malicious: stats['malicious'] ?? 0, total },
    verdicts,
    signature: a.popular_threat_classification?.suggested_threat_label ?? null,
    raw: {
      size: a.size,
      type_description: a.type_description,
      meaningful_name: a.meaningful_name,
      last_analysis_date: a.last_analysis_date,
      last_analysis_stats: stats,
    },
  };
}
