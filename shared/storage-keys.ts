/**
 * Object keys, in one place, so every artifact's address says what it is (DESIGN invariant 2) and
 * no module builds a key by hand.
 */
export const storageKeys = {
  /** Probe objects written by the `stackCheck` workflow; keyed by workflow id so a retry overwrites itself. */
  stackProbe: (workflowId: string, bucket: string) => `_probes/${encodeURIComponent(workflowId)}/${bucket}.json`,
} as const;
