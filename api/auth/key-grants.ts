import { type ApiScope, modelMatcher, parseKeyScope } from '../../shared/api/key-scopes.ts';

/** A route about no one model (feedback by request id alone, a run whose model its id does not say): only a scope on every model reaches it. */
export const EVERY_MODEL = Symbol('every model');
/** A list the key sees its share of: a scope on any one model lets it in, and the list is then filtered by model. */
export const ANY_MODEL = Symbol('any model');
/** What a request acts on: one model by name, or one of the two above. */
export type ModelReach = string | typeof EVERY_MODEL | typeof ANY_MODEL;

// Decisions are remembered per model name; names come from request paths, so the memory is capped (cleared when full).
const DECISIONS_CAP = 1024;

/**
 * One key's scopes, compiled when the keys file is read. A decision for (right, model) is a Set
 * lookup for a scope on every model and a Map lookup after the first request naming that model, so
 * the predict path pays no pattern matching per request. A reload builds new grants, so a changed
 * scope counts from the next request.
 */
export class KeyGrants {
  /** Rights on every model. */
  private readonly everywhere = new Set<ApiScope>();
  private readonly patterns = new Map<ApiScope, ((model: string) => boolean)[]>();
  private readonly decisions = new Map<ApiScope, Map<string, boolean>>();

  constructor(readonly scopes: readonly string[]) {
    for (const text of scopes) {
      const parsed = parseKeyScope(text);
      // The keys file schema has refused any other text already.
      if (!('scope' in parsed)) continue;
      const { right, models } = parsed.scope;
      if (models === undefined) this.everywhere.add(right);
      else this.patterns.set(right, [...(this.patterns.get(right) ?? []), modelMatcher(models)]);
    }
  }

  /** Whether one of `rights` reaches `reach`. */
  allows(rights: readonly ApiScope[], reach: ModelReach): boolean {
    for (const right of rights) if (this.allowsOne(right, reach)) return true;
    return false;
  }

  private allowsOne(right: ApiScope, reach: ModelReach): boolean {
    if (this.everywhere.has(right)) return true;
    if (reach === EVERY_MODEL) return false;
    const matchers = this.patterns.get(right);
    if (matchers === undefined) return false;
    if (reach === ANY_MODEL) return true;
    let decided = this.decisions.get(right);
    if (decided === undefined) this.decisions.set(right, (decided = new Map<string, boolean>()));
    let allowed = decided.get(reach);
    if (allowed === undefined) {
      allowed = matchers.some((matches) => matches(reach));
      if (decided.size >= DECISIONS_CAP) decided.clear();
      decided.set(reach, allowed);
    }
    return allowed;
  }

  /** Whether this key has `right` on some models only (and not on all): its lists are filtered, and a route about no one model is closed to it. */
  limited(right: ApiScope): boolean {
    return !this.everywhere.has(right) && this.patterns.has(right);
  }
}

/** The scope a refusal names as missing: `"predict:flights-delay" or "admin:flights-delay"`, `"feedback"`. */
export function missingScope(rights: readonly ApiScope[], reach: ModelReach): string {
  const model = typeof reach === 'string' ? `:${reach.length > 64 ? `${reach.slice(0, 64)}…` : reach}` : '';
  const named = rights.map((right) => JSON.stringify(`${right}${model}`)).join(' or ');
  if (reach === ANY_MODEL) return `${named} scope (on any model)`;
  return `${named} scope`;
}
