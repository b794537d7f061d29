import type { PredictionRoute } from '../../shared/api/prediction-log.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';

/** A model's loaded routes: what one serving config entry became once its versions were loaded. */
export interface ModelRoutes {
  primary: ModelRuntime;
  canary: { runtime: ModelRuntime; percent: number } | undefined;
  shadow: { runtime: ModelRuntime; percent: number } | undefined;
}

/** Routing resolves hundredths of a percent. */
const SLOTS = 10_000;

/** FNV-1a, 32 bit: fast, and the same on every replica and Node version (unlike a seeded hash). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A slot in [0, 10000): from the routing key when there is one (stable), else at random. */
function slot(model: string, purpose: string, routingKey: string | undefined): number {
  return routingKey === undefined ? Math.floor(Math.random() * SLOTS) : fnv1a(`${model}\u0000${purpose}\u0000${routingKey}`) % SLOTS;
}

/** The version that answers: the canary for its share of slots, the primary for the rest. */
export function chooseRoute(model: string, routes: ModelRoutes, routingKey: string | undefined): { runtime: ModelRuntime; route: PredictionRoute } {
  const canary = routes.canary;
  if (canary && slot(model, 'canary', routingKey) < canary.percent * (SLOTS / 100)) return { runtime: canary.runtime, route: 'canary' };
  return { runtime: routes.primary, route: 'primary' };
}

/** Whether this request is also scored by the shadow version (decided independently of the canary split). */
export function shadowFor(model: string, routes: ModelRoutes, routingKey: string | undefined): ModelRuntime | undefined {
  const shadow = routes.shadow;
  if (!shadow) return undefined;
  return shadow.percent >= 100 || slot(model, 'shadow', routingKey) < shadow.percent * (SLOTS / 100) ? shadow.runtime : undefined;
}
