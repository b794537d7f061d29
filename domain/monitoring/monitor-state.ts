import type { Config } from '../../shared/config.ts';
import { type MonitorState, monitorStateKey, monitorStateSchema } from '../../shared/monitoring.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';

/**
 * The drift monitor's memory of a model (judged windows, score baseline, last retraining), one JSON
 * object in the reports bucket: written by the monitor's activities, read by the CLI and the timeline.
 */
export class MonitorStateStore {
  constructor(
    private readonly store: ArtifactStore,
    private readonly buckets: Config['buckets'],
  ) {}

  async read(model: string): Promise<MonitorState> {
    const found = await this.store.stat(this.buckets.reports, monitorStateKey(model));
    if (!found) return { model, windows: [], scoreBaseline: null, lastRetrain: null };
    return monitorStateSchema.parse(JSON.parse((await this.store.get(this.buckets.reports, monitorStateKey(model))).toString('utf8')));
  }

  async write(state: MonitorState): Promise<void> {
    await this.store.put(this.buckets.reports, monitorStateKey(state.model), JSON.stringify(monitorStateSchema.parse(state), null, 2), { contentType: 'application/json' });
  }
}
