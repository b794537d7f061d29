import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/data/canonical-json.ts';
import type { FeatureSpec } from '../../shared/data/feature-spec.ts';

/** The feature-definition hash: SHA-256 of the parsed spec's canonical JSON (defaults filled in, key order irrelevant). */
export const featureDefinitionHash = (spec: FeatureSpec) => createHash('sha256').update(canonicalJson(spec)).digest('hex');
