import { z } from 'zod';
import { type Expr, ExpressionSyntaxError, columnsOf, parseExpression, substituteColumns } from './expression.ts';
import { type ExprType, ExpressionTypeError, VALUE_TYPES, type ValueType, typeOf } from './expression-types.ts';
import { durationSchema, parseDurationMs } from '../duration.ts';
import { parseTimestamp } from './timestamp.ts';

/**
 * A feature definition, declared once. The same spec produces the offline training tables (DuckDB)
 * and the online feature vector the prediction API feeds the model, so training and serving cannot
 * disagree about what a feature means. Every expression is written in the feature expression
 * language (`expression.ts`) and checked against the declared `columns` when the spec is parsed.
 *
 * Point-in-time rules (what "as of t" means for an event at time t):
 * - Row-level features read only the event's own columns, never an outcome column (see `label`).
 * - A value is *known* at a time: an aggregate input that reads only ordinary columns is known at its
 *   event's time; one that reads the label or an outcome column is known when the label becomes
 *   available: max(availableAt, event time) — a label is never known before its own event.
 * - A windowed aggregate with window w for an event at t covers exactly the values of the same group
 *   that became known in [t - w, t): strictly before t, so nothing at or after the event's instant
 *   (including the event itself and others at the same instant) is used.
 */

/** Names that become Parquet columns and model inputs: identifier-like, so every tool can carry them. */
const featureName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'expected a name of letters, digits and _ (not starting with a digit), at most 63 characters')
  .refine((name) => !name.startsWith('__'), 'names starting with __ are reserved for sluice');

const columnName = z.string().min(1, 'expected a column name').max(255);

const expression = z.string().min(1, 'expected an expression').max(4000);

const timestamp = z.string().refine((s) => parseTimestamp(s) !== undefined, 'expected an ISO 8601 timestamp, e.g. 2001-05-01 or 2001-05-01T00:00:00Z (no offset means UTC)');

/** A window length: a whole number of minutes (m), hours (h) or days (d). */
const windowSchema = z.string().regex(/^[1-9]\d{0,5}(m|h|d)$/, 'expected a window such as 90m, 12h or 7d');

export function windowMinutes(window: string): number {
  const unit = window.slice(-1);
  const n = Number(window.slice(0, -1));
  return unit === 'd' ? n * 1440 : unit === 'h' ? n * 60 : n;
}

export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'mean'] as const;

/**
 * How a feature's value is written to the prediction log (left out: as served). `hash`: a keyed HMAC
 * of the value (categorical features only: identifiers), the same on every API replica and in the
 * drift monitor, so categorical drift is judged on hashed values; `drop`: NULL in the log, and the
 * feature is left out of drift. The model is served the value either way.
 */
export const LOG_MASKS = ['hash', 'drop'] as const;
export type LogMask = (typeof LOG_MASKS)[number];
const logMaskSchema = z.enum(LOG_MASKS, { error: `expected one of ${LOG_MASKS.join(', ')}` });

/**
 * What a model predicts. `binary`: P(label) of a yes/no label, ONNX output `probability` [N, 1].
 * `regression`: a number, output `value` [N, 1] in the label's units. `multiclass`: one of the
 * declared classes, output `probabilities` [N, K] in `classes` order.
 */
export const LABEL_KINDS = ['binary', 'regression', 'multiclass'] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];

/** Class indices are stored as uint8 by the trainers. */
export const MAX_CLASSES = 255;

/**
 * A regression label's training transform: clip to [min, max] first, then log1p. Trainers fit the
 * transformed value; the exported graph applies the inverse (expm1; clipping needs none), so served
 * values and evaluation metrics are in the label's own units.
 */
export const labelTransformSchema = z
  .strictObject({
    clip: z
      .strictObject({ min: z.number().optional(), max: z.number().optional() })
      .refine((c) => c.min !== undefined || c.max !== undefined, 'give min, max or both')
      .refine((c) => c.min === undefined || c.max === undefined || c.min < c.max, 'min must be below max')
      .optional(),
    log1p: z.boolean().optional(),
  })
  .refine((t) => t.clip !== undefined || t.log1p === true, 'a transform needs clip or log1p: true');
export type LabelTransform = z.output<typeof labelTransformSchema>;

const featureSpecObject = z.strictObject({
  /** A name people recognise; the spec's identity is its hash, not this name. */
  name: z.string().min(1).max(200),
  /** Every raw column any expression reads, with its type; offline, the dataset must have them. Online, the request carries them. */
  columns: z.record(columnName, z.enum(VALUE_TYPES, { error: `expected one of ${VALUE_TYPES.join(', ')}` })),
  /** Columns that identify the entities an event is about; aggregates group by subsets of them. Written to every feature row. */
  entityKeys: z.array(columnName).min(1, 'expected at least one entity key'),
  /** The timestamp column that orders events; a naive timestamp means UTC. */
  eventTime: columnName,
  label: z.strictObject({
    /** Column name of the label in feature tables. */
    name: featureName,
    /**
     * What the model predicts (see `LABEL_KINDS`); left out means `binary`, so specs written before
     * there were kinds keep their meaning and their hash.
     */
    kind: z.enum(LABEL_KINDS).optional(),
    /**
     * binary: a boolean expression, e.g. `delay > 15`; regression: a number, e.g. `delay`;
     * multiclass: a string naming one of `classes`. Rows where it is NULL are left out of the tables.
     */
    expr: expression,
    /** Multiclass only: every class the label may take, in the order of the model's `probabilities` columns. */
    classes: z.array(z.string().min(1, 'a class name cannot be empty').max(200)).min(2, 'expected at least two classes').max(MAX_CLASSES, `at most ${MAX_CLASSES} classes`).optional(),
    /** Regression only: how the label is transformed for training; the exported model undoes it, so predictions are in the label's units. */
    transform: labelTransformSchema.optional(),
    /**
     * When the label becomes known, a timestamp expression, e.g. `add_minutes(date, delay)`; a fixed
     * lag is `add_minutes(date, 60)`. Times before the event count as the event's own time; NULL
     * means never known.
     */
    availableAt: expression,
    /** Columns known only when the label is (e.g. `delay`): row-level features may not read them. */
    outcomes: z.array(columnName).default([]),
  }),
  /** Row-level features: one expression over the event's own columns each; strings are categorical, numbers and booleans (as 0/1) numeric. */
  features: z.array(z.strictObject({ name: featureName, expr: expression, description: z.string().max(1000).optional(), log: logMaskSchema.optional() })).default([]),
  /**
   * Windowed aggregates over past values of the same group (see the point-in-time rules above).
   * `of` may name the label (its boolean counts as 1/0). count counts non-NULL `of` values (every
   * event when `of` is left out); sum is 0 and mean NULL over an empty window.
   */
  aggregates: z
    .array(
      z.strictObject({
        name: featureName,
        groupBy: z.array(columnName).min(1, 'expected at least one group-by key'),
        fn: z.enum(AGGREGATE_FUNCTIONS),
        of: expression.optional(),
        window: windowSchema,
        description: z.string().max(1000).optional(),
        /** Aggregates are numbers: `drop` only. */
        log: z.literal('drop').optional(),
      }),
    )
    .default([]),
  /**
   * Time-based splits by event time: `from` inclusive, `until` exclusive, either may be open. Events
   * outside every split are left out. Or relative to the dataset's end, resolved when the tables are
   * built (and recorded in their manifest): `last: "30d"` covers the last 30 days before the split that
   * follows it, or before the dataset's newest event (inclusive) for the final split. Relative splits
   * come last; the split before them, given no `until`, ends where they start. So `train` (open),
   * `validation {last: 30d}`, `test {last: 30d}` trains on everything but the newest 60 days.
   */
  splits: z
    .array(z.strictObject({ name: featureName, from: timestamp.optional(), until: timestamp.optional(), last: durationSchema.optional() }))
    .min(1, 'expected at least one split'),
  /** Reference statistics for drift detection, computed on one split (normally the training split). */
  reference: z
    .strictObject({
      split: featureName.default('train'),
      /** Numeric features get this many quantile bins (fewer when values repeat). */
      bins: z.number().int().min(2).max(100).default(10),
      /** Categorical features keep their most frequent categories; the rest are counted as other. */
      topCategories: z.number().int().min(1).max(1000).default(20),
    })
    .prefault({}),
});

export const featureSpecSchema = featureSpecObject.superRefine((spec, ctx) => {
  for (const issue of analyseFeatureSpec(spec).issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

export type FeatureSpecInput = z.input<typeof featureSpecSchema>;
export type FeatureSpec = z.output<typeof featureSpecSchema>;

export type FeatureKind = 'numeric' | 'categorical';

/** The features the spec masks in the prediction log, by name. */
export function logMasksOf(spec: Pick<FeatureSpec, 'features' | 'aggregates'>): Map<string, LogMask> {
  return new Map([...spec.features, ...spec.aggregates].flatMap((f) => (f.log ? [[f.name, f.log] as const] : [])));
}
export type KnownAt = 'event' | 'label';

/** The parsed, type-checked form of a spec that both backends compile. */
/** The expression type each label kind needs. */
export const LABEL_VALUE_TYPE = { binary: 'boolean', regression: 'number', multiclass: 'string' } as const satisfies Record<LabelKind, ValueType>;

/** The label's kind and what the model needs to know about it: recorded in every manifest, read by serving and monitoring. */
export const labelTaskSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('binary') }),
  z.strictObject({ kind: z.literal('regression'), transform: labelTransformSchema.optional() }),
  z.strictObject({ kind: z.literal('multiclass'), classes: z.array(z.string().min(1)).min(2) }),
]);
export type LabelTask = z.output<typeof labelTaskSchema>;

export function labelTask(spec: FeatureSpec): LabelTask {
  switch (spec.label.kind ?? 'binary') {
    case 'binary':
      return { kind: 'binary' };
    case 'regression':
      return spec.label.transform ? { kind: 'regression', transform: spec.label.transform } : { kind: 'regression' };
    case 'multiclass':
      return { kind: 'multiclass', classes: spec.label.classes ?? [] };
  }
}

export interface AnalysedFeatureSpec {
  rowFeatures: { name: string; expr: Expr; type: ValueType; kind: FeatureKind }[];
  label: { name: string; expr: Expr; availableAt: Expr };
  /** `of` has the label's name replaced by the label expression; undefined counts events. */
  aggregates: { name: string; groupBy: string[]; fn: (typeof AGGREGATE_FUNCTIONS)[number]; of: Expr | undefined; knownAt: KnownAt; windowMinutes: number }[];
  /** Split boundaries as epoch milliseconds; `last` (ms) for a split relative to the dataset's end (see `resolveSplits`). */
  splits: AnalysedSplit[];
}

export interface AnalysedSplit {
  name: string;
  from: number | undefined;
  until: number | undefined;
  last: number | undefined;
}

/** A split's bounds once resolved against a dataset: epoch ms, `from` inclusive, `until` exclusive. */
export interface ResolvedSplit {
  name: string;
  from: number | undefined;
  until: number | undefined;
}

/**
 * Absolute bounds for every split, given the dataset's newest event time (epoch ms; undefined for a
 * dataset without events, where relative splits are empty). Relative splits are laid back to back
 * from just after the newest event; the absolute split before them ends where they begin.
 */
export function resolveSplits(splits: readonly AnalysedSplit[], newestEventMs: number | undefined): ResolvedSplit[] {
  const out: ResolvedSplit[] = splits.map((s) => ({ name: s.name, from: s.from, until: s.until }));
  let cursor = newestEventMs === undefined ? 0 : newestEventMs + 1;
  for (let i = splits.length - 1; i >= 0; i--) {
    const split = splits[i] as AnalysedSplit;
    const resolved = out[i] as ResolvedSplit;
    if (split.last === undefined) {
      if (i < splits.length - 1 && split.until === undefined) resolved.until = cursor;
      break;
    }
    resolved.until = cursor;
    resolved.from = newestEventMs === undefined ? cursor : cursor - split.last;
    cursor = resolved.from;
  }
  return out;
}

interface Issue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks everything a schema cannot: names unique, keys declared, expressions parse and have the right
 * types, no row-level feature reads an outcome, splits in order. Returns the analysed spec with the
 * problems (empty when the spec is sound).
 */
export function analyseFeatureSpec(spec: FeatureSpec): { analysed: AnalysedFeatureSpec; issues: Issue[] } {
  const issues: Issue[] = [];
  const columns = spec.columns;
  const outcomes = new Set(spec.label.outcomes);
  const declared = (name: string) => Object.hasOwn(columns, name);

  const compile = (source: string, path: Issue['path'], vars: Record<string, ValueType> = columns): { expr: Expr; type: ExprType } | undefined => {
    try {
      const expr = parseExpression(source);
      return { expr, type: typeOf(expr, vars) };
    } catch (err) {
      if (err instanceof ExpressionSyntaxError || err instanceof ExpressionTypeError) {
        issues.push({ path, message: err.message });
        return undefined;
      }
      throw err;
    }
  };

  const names = new Map<string, string>();
  const claim = (name: string, what: string, path: Issue['path']) => {
    if (name.startsWith('__')) issues.push({ path, message: `"${name}": names starting with __ are reserved for sluice` });
    const previous = names.get(name);
    if (previous) issues.push({ path, message: `"${name}" is already the name of ${previous}; every output column needs its own name` });
    else names.set(name, what);
  };

  spec.entityKeys.forEach((key, i) => {
    claim(key, 'an entity key', ['entityKeys', i]);
    if (!declared(key)) issues.push({ path: ['entityKeys', i], message: `entity key "${key}" is not in columns` });
    else if (columns[key] !== 'string' && columns[key] !== 'number') issues.push({ path: ['entityKeys', i], message: `entity key "${key}" must be a string or number column, not ${columns[key]}` });
    if (outcomes.has(key)) issues.push({ path: ['entityKeys', i], message: `entity key "${key}" is an outcome column; keys must be known when the event happens` });
  });
  claim(spec.eventTime, 'the event time', ['eventTime']);
  if (columns[spec.eventTime] !== 'timestamp') issues.push({ path: ['eventTime'], message: `event time "${spec.eventTime}" must be a timestamp column in columns` });
  if (outcomes.has(spec.eventTime)) issues.push({ path: ['eventTime'], message: 'the event time cannot be an outcome column' });
  spec.label.outcomes.forEach((c, i) => {
    if (!declared(c)) issues.push({ path: ['label', 'outcomes', i], message: `outcome "${c}" is not in columns` });
  });

  const labelKind = spec.label.kind ?? 'binary';
  const labelType = LABEL_VALUE_TYPE[labelKind];
  const label = compile(spec.label.expr, ['label', 'expr']);
  if (label && label.type !== labelType) issues.push({ path: ['label', 'expr'], message: labelKind === 'binary' ? `the label must be a boolean expression, got ${label.type}` : `a ${labelKind} label must be a ${labelType} expression, got ${label.type}` });
  const classes = spec.label.classes;
  if (labelKind === 'multiclass') {
    if (classes === undefined) issues.push({ path: ['label', 'classes'], message: 'a multiclass label needs its list of classes' });
    else {
      const duplicates = [...new Set(classes.filter((c, i) => classes.indexOf(c) !== i))];
      if (duplicates.length) issues.push({ path: ['label', 'classes'], message: `class(es) ${duplicates.map((c) => JSON.stringify(c)).join(', ')} appear more than once` });
    }
  } else if (classes !== undefined) issues.push({ path: ['label', 'classes'], message: `classes are for a multiclass label, not ${labelKind}` });
  if (spec.label.transform !== undefined && labelKind !== 'regression') issues.push({ path: ['label', 'transform'], message: `a transform is for a regression label, not ${labelKind}` });
  const clipMin = spec.label.transform?.clip?.min;
  if (spec.label.transform?.log1p && clipMin !== undefined && clipMin <= -1) issues.push({ path: ['label', 'transform', 'clip', 'min'], message: 'log1p needs values above -1: clip.min must be above -1' });
  const availableAt = compile(spec.label.availableAt, ['label', 'availableAt']);
  if (availableAt && availableAt.type !== 'timestamp') issues.push({ path: ['label', 'availableAt'], message: `availableAt must be a timestamp expression, got ${availableAt.type}` });

  const rowFeatures: AnalysedFeatureSpec['rowFeatures'] = [];
  spec.features.forEach((f, i) => {
    claim(f.name, 'a feature', ['features', i, 'name']);
    const compiled = compile(f.expr, ['features', i, 'expr']);
    if (!compiled) return;
    const leaked = columnsOf(compiled.expr).filter((c) => outcomes.has(c));
    if (leaked.length) {
      issues.push({ path: ['features', i, 'expr'], message: `reads outcome column(s) ${leaked.join(', ')}, which are not known when the event happens` });
      return;
    }
    if (compiled.type === 'timestamp' || compiled.type === 'null') {
      issues.push({ path: ['features', i, 'expr'], message: `a feature must be a number, string or boolean, got ${compiled.type}` });
      return;
    }
    const kind = compiled.type === 'string' ? 'categorical' : 'numeric';
    if (f.log === 'hash' && kind !== 'categorical') issues.push({ path: ['features', i, 'log'], message: `only categorical (string) features can be hashed in the log; "${f.name}" is numeric (use drop)` });
    rowFeatures.push({ name: f.name, expr: compiled.expr, type: compiled.type, kind });
  });

  const labelName = spec.label.name;
  const withLabel: Record<string, ValueType> = { ...columns, [labelName]: labelType };
  const aggregates: AnalysedFeatureSpec['aggregates'] = [];
  spec.aggregates.forEach((a, i) => {
    claim(a.name, 'an aggregate', ['aggregates', i, 'name']);
    a.groupBy.forEach((key, j) => {
      if (!spec.entityKeys.includes(key)) issues.push({ path: ['aggregates', i, 'groupBy', j], message: `group-by key "${key}" is not an entity key` });
    });
    if (new Set(a.groupBy).size !== a.groupBy.length) issues.push({ path: ['aggregates', i, 'groupBy'], message: 'a group-by key appears twice' });
    if (a.of === undefined) {
      if (a.fn !== 'count') issues.push({ path: ['aggregates', i, 'of'], message: `${a.fn} needs an expression in "of"` });
      else aggregates.push({ name: a.name, groupBy: a.groupBy, fn: a.fn, of: undefined, knownAt: 'event', windowMinutes: windowMinutes(a.window) });
      return;
    }
    const compiled = compile(a.of, ['aggregates', i, 'of'], withLabel);
    if (!compiled || !label) return;
    if (compiled.type !== 'number' && compiled.type !== 'boolean') {
      issues.push({ path: ['aggregates', i, 'of'], message: `an aggregate reads a number or boolean, got ${compiled.type}` });
      return;
    }
    const read = columnsOf(compiled.expr);
    const knownAt: KnownAt = read.some((c) => c === labelName || outcomes.has(c)) ? 'label' : 'event';
    const of = substituteColumns(compiled.expr, new Map([[labelName, label.expr]]));
    aggregates.push({ name: a.name, groupBy: a.groupBy, fn: a.fn, of, knownAt, windowMinutes: windowMinutes(a.window) });
  });
  claim(labelName, 'the label', ['label', 'name']);

  const splits: AnalysedFeatureSpec['splits'] = [];
  const splitNames = new Set<string>();
  spec.splits.forEach((s, i) => {
    if (splitNames.has(s.name)) issues.push({ path: ['splits', i, 'name'], message: `split "${s.name}" appears twice` });
    splitNames.add(s.name);
    const from = s.from === undefined ? undefined : parseTimestamp(s.from);
    const until = s.until === undefined ? undefined : parseTimestamp(s.until);
    const last = s.last === undefined ? undefined : parseDurationMs(s.last);
    const previous = splits.at(-1);
    if (last !== undefined) {
      if (from !== undefined || until !== undefined) issues.push({ path: ['splits', i, 'last'], message: `split "${s.name}": a relative split (last) takes no from or until` });
      if (last <= 0) issues.push({ path: ['splits', i, 'last'], message: `split "${s.name}": last must be longer than 0` });
      if (previous && previous.last === undefined && previous.until !== undefined) {
        issues.push({ path: ['splits', i - 1, 'until'], message: `split "${previous.name}" is followed by relative splits and ends where they begin: leave out its until` });
      }
    } else {
      if (previous?.last !== undefined) issues.push({ path: ['splits', i, 'last'], message: `split "${s.name}" follows a relative split, so it must be relative too (last)` });
      if (from !== undefined && until !== undefined && from >= until) issues.push({ path: ['splits', i], message: 'from must be before until' });
      if (previous && previous.last === undefined && (previous.until === undefined || from === undefined || from < previous.until)) {
        issues.push({ path: ['splits', i, 'from'], message: `split "${s.name}" must start at or after the end of "${previous.name}"` });
      }
    }
    splits.push({ name: s.name, from, until, last });
  });
  if (!splitNames.has(spec.reference.split)) issues.push({ path: ['reference', 'split'], message: `reference split "${spec.reference.split}" is not one of the splits` });

  return {
    analysed: {
      rowFeatures,
      label: { name: labelName, expr: label?.expr ?? { kind: 'null' }, availableAt: availableAt?.expr ?? { kind: 'null' } },
      aggregates,
      splits,
    },
    issues,
  };
}

/** The analysed form of a spec that parsed: its issues were already reported by the schema. */
export function analysedFeatureSpec(spec: FeatureSpec): AnalysedFeatureSpec {
  return analyseFeatureSpec(spec).analysed;
}

/** All output columns of a feature table, in order, with their roles. */
export function featureTableColumns(spec: FeatureSpec): { entityKeys: string[]; eventTime: string; features: { name: string; kind: FeatureKind }[]; label: string } {
  const analysed = analysedFeatureSpec(spec);
  return {
    entityKeys: [...spec.entityKeys],
    eventTime: spec.eventTime,
    features: [...analysed.rowFeatures.map((f) => ({ name: f.name, kind: f.kind })), ...analysed.aggregates.map((a) => ({ name: a.name, kind: 'numeric' as const }))],
    label: spec.label.name,
  };
}
