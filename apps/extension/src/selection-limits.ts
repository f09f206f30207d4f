/** Bounds on what one selection may submit: a selection larger than this is a page dump, not a report. */
export const MAX_SELECTION_CHARS = 1_000_000;
export const MAX_SELECTION_INDICATORS = 2_000;
