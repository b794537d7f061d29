import type { ArtifactStore } from '../../activities/object-store/artifact-store.ts';
import { ModelNotFoundError } from '../../activities/registry/model-registry.ts';
import { loadModelTimeline } from '../../activities/timeline/load-timeline.ts';
import type { ModelTimeline } from '../../activities/timeline/model-timeline.ts';
import type { Config } from '../../shared/config.ts';
import { ApiError } from '../errors.ts';
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
      if (err instanceof ModelNotFoundError) throw new ApiError('UnknownModel', `${err.message}`, { field: 'path.name' });
      throw err;
    }
  }
}
