import { modelNameSchema } from '../registry.ts';

/**
 * What an API key may do, as written in the keys file: a right (`predict`, `feedback`, `admin`) on
 * every model, or on the models a name or a glob names (`predict:flights-delay`, `admin:flights-*`).
 * Parsed once when the keys file is read; requests only ask the compiled matchers.
 */

const API_SCOPES = ['predict', 'feedback', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** A scope of a key: its right, and the model pattern it is limited to (absent: every model). */
export interface KeyScope {
  right: ApiScope;
  models?: string;
}

const isRight = (text: string): text is ApiScope => (API_SCOPES as readonly string[]).includes(text);

// A glob over the characters of the registry's model names, where `*` stands for any run of them.
const MODEL_GLOB = /^[a-z*][a-z0-9*-]{0,62}$/;

export const SCOPE_GRAMMAR = `${API_SCOPES.join(', ')} (every model), or one of them followed by :MODEL or :PATTERN (a model name, or one with * for any characters), e.g. predict:flights-delay or admin:flights-*`;

/** The scope a text names, or what is wrong with it (one sentence naming the text). */
export function parseKeyScope(text: string): { scope: KeyScope } | { problem: string } {
  const colon = text.indexOf(':');
  const right = colon < 0 ? text : text.slice(0, colon);
  if (!isRight(right)) return { problem: `"${text}" is not a scope: expected ${SCOPE_GRAMMAR}` };
  if (colon < 0) return { scope: { right } };
  const models = text.slice(colon + 1);
  const valid = models.includes('*') ? MODEL_GLOB.test(models) : modelNameSchema.safeParse(models).success;
  if (!valid) return { problem: `"${text}" names no model: after "${right}:" comes a model name (2-63 lowercase letters, digits or hyphens, starting with a letter) or a pattern of those characters with * for any run of them, e.g. ${right}:flights-*` };
  return { scope: { right, models } };
}

/**
 * Whether a model name falls under a scope's pattern. The glob becomes one anchored expression here,
 * once per keys file; `*` matches only the characters a model name may hold, so no path trickery
 * (`flights-x/../weather`) can pass for a model the pattern names.
 */
export function modelMatcher(pattern: string): (model: string) => boolean {
  if (!pattern.includes('*')) return (model) => model === pattern;
  const expression = new RegExp(`^${pattern.split('*').join('[a-z0-9-]*')}$`);
  return (model) => expression.test(model);
}
