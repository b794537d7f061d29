import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { loadModelTimeline } from '../../control/load-timeline.ts';
import type { ModelTimeline } from '../../domain/timeline/model-timeline.ts';
import type { Config } from '../../shared/config.ts';
import { kindApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

/** A model's timeline (the same one `sluice models timeline` prints): registry, rollouts, drift windows, retrainings. */
export class TimelineView {
  constructor(
    private readonly temporal: TemporalLink,
    private readonly deps: { store: ArtifactStore; buckets: Config['buckets'] },
  ) {}

  async load(model: string): Promise<ModelTimeline> {
    try {
      return await this.temporal.run((client) => loadModelTimeline({ ...this.deps, client }, model));
    } catch (err) {
      throw kindApiError(err, { field: 'path.name' }) ?? err;
    }
  }
}
