import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { Histogram } from './exposition.ts';

const KIND: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak_callbacks',
};

/**
 * Records every garbage collection pause of the event loop's thread into `pauses`, by kind: under
 * load, young-generation collections are what most often holds a request past the p99, and this is
 * where an operator sees them. Returns the function that stops recording.
 */
export function recordGcPauses(pauses: Histogram): () => void {
  const byKind = new Map(Object.entries(KIND).map(([code, kind]) => [Number(code), pauses.with({ kind })]));
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry.detail as { kind?: number } | undefined)?.kind;
      (byKind.get(kind ?? -1) ?? pauses.with({ kind: 'other' })).observe(entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
