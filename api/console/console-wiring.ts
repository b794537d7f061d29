import type { Router } from 'express';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApprovalRelay } from '../approvals/approval-relay.ts';
import type { KeyRing } from '../auth/key-ring.ts';
import type { ModelFeatureFreshness } from '../features/feature-freshness.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';
import { ConsoleSessions } from './console-session.ts';
import { ConsoleSources } from './console-sources.ts';
import { createConsoleRouter } from './console-router.ts';

/** The console as the API server wires it: the one place that knows what it is built from, so the server adds a single line. */
export function consoleRouter(deps: {
  config: Config;
  store: ArtifactStore;
  temporal: TemporalLink;
  keys: KeyRing;
  approvals: ApprovalRelay;
  logger: Logger;
  freshness: () => Record<string, ModelFeatureFreshness>;
}): Router {
  return createConsoleRouter({
    keys: deps.keys,
    sessions: new ConsoleSessions(Date.now, deps.config.api.consoleSessionSecret === undefined ? undefined : Buffer.from(deps.config.api.consoleSessionSecret)),
    sources: new ConsoleSources(deps.store, deps.config.buckets, deps.temporal, deps.freshness),
    approvals: deps.approvals,
    logger: deps.logger,
    maxBodyBytes: deps.config.api.maxBodyBytes,
  });
}
