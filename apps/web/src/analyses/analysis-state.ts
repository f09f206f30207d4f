import type { AnalysisStatus, AnalysisSummary } from '@malpipe/api-client';

/** Analysis states that will still change: pages showing one refresh themselves until none is left. */
export function isActive(analysis: Pick<AnalysisSummary, 'state'>): boolean {
  return analysis.state === 'queued' || analysis.state === 'running';
}

/** An analysis, or one of its child analyses, is still going. */
export function isLive(analysis: Pick<AnalysisStatus, 'state' | 'children'>): boolean {
  return isActive(analysis) || analysis.children.some(isActive);
}

/** The analysis a queue job works on, when its payload names one (`{ analysisId }`). */
export function analysisIdOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null || !('analysisId' in payload)) return null;
  const id: unknown = payload.analysisId;
  return typeof id === 'string' && id !== '' ? id : null;
}
