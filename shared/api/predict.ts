import { z } from 'zod';

/**
 * The prediction endpoint's wire format. A request carries one raw business event (`event`) or a
 * batch (`events`); the fields of an event are the raw columns the model's feature spec reads
 * (`GET /v1/models/{name}` lists them with their types) and the API validates them per model version.
 *
 * Deliberate choices, the same for every model:
 * - every field the features read is required; `null` says "unknown" and the model sees a missing value;
 * - a field the features do not read is rejected, so a misspelt name cannot pass as a missing value;
 * - numbers must be JSON numbers: "733" is a string and is rejected, never coerced;
 * - NaN and Infinity are not JSON, so a body containing them is malformed JSON; a literal that
 *   overflows to Infinity (1e999) is rejected as not finite;
 * - a timestamp is an ISO 8601 string (no offset means UTC) or epoch milliseconds.
 */

/** A raw event before its model's schema has checked it. */
export const rawEventSchema = z.looseObject({}).meta({
  description: "One raw business event: exactly the fields the model's feature spec reads (see GET /v1/models/{name}); null marks a value as unknown.",
  examples: [{ origin: 'ORD', destination: 'LGA', date: '2001-03-04T10:15:00Z', distance: 733 }],
});
export type RawEvent = z.infer<typeof rawEventSchema>;

export const routingKeySchema = z
  .string()
  .min(1, 'expected a non-empty routing key')
  .max(256, 'expected a routing key of at most 256 characters')
  .describe('Requests with the same key are served by the same model version (for as long as the routes do not change)');

/**
 * A request carries exactly one of these shapes: one event, a batch of event objects, or a batch in
 * columns (MLflow's `dataframe_split`: the field names once, then one array of values per event, which
 * is cheaper to send and to parse than repeating every name in every event). zod checks it as a
 * refinement, whose message says what to send; JSON Schema cannot see a refinement, so the same
 * shapes are also written as a `oneOf`, which is what tools (client generators, fuzzers) read: the
 * document accepts what the server accepts.
 */
const SHAPES = [['event'], ['events'], ['columns', 'data']] as const;

/** A column-oriented batch: `data[i][j]` is field `columns[j]` of event i. */
export const columnarEventsSchema = {
  columns: z.array(z.string().min(1, 'expected a field name')).min(1, 'expected at least one column').describe("The events' field names, each once (every field the model's features read)"),
  data: z
    .array(z.array(z.unknown()).describe('One event: a value per column, in column order (null when unknown)'))
    .min(1, 'expected at least one row')
    .describe('One array of values per event'),
};

export const predictRequestSchema = z
  .strictObject({
    event: rawEventSchema.optional(),
    events: z.array(rawEventSchema).min(1, 'expected at least one event').optional(),
    columns: columnarEventsSchema.columns.optional(),
    data: columnarEventsSchema.data.optional(),
    routingKey: routingKeySchema.optional(),
  })
  .superRefine((body, ctx) => {
    const given = SHAPES.filter((keys) => keys.some((key) => body[key] !== undefined));
    if (given.length !== 1 || given[0]?.some((key) => body[key] === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "event" (one event), "events" (a batch) or "columns" with "data" (a batch in columns)' });
    }
  })
  .meta({
    description: 'One event (`event`), a batch (`events`), or a batch in columns (`columns` + `data`), exactly one; `routingKey` pins the caller to one model version',
    // Each shape's keys, and none of another's: a body with `event` and a stray `columns` is refused too.
    oneOf: SHAPES.map((keys) => ({ required: [...keys], not: { anyOf: SHAPES.flat().filter((k) => !(keys as readonly string[]).includes(k)).map((k) => ({ required: [k] })) } })),
  });
export type PredictRequest = z.infer<typeof predictRequestSchema>;

const modelVersion = z.number().int().describe('The version that produced this prediction');

export const binaryPredictionSchema = z
  .strictObject({
    score: z.number().describe('P(label = 1) from the model'),
    label: z.boolean().describe("score ≥ the model version's decision threshold"),
    modelVersion,
  })
  .describe('A binary model\'s prediction for one event');
export type BinaryPrediction = z.infer<typeof binaryPredictionSchema>;

export const regressionPredictionSchema = z
  .strictObject({
    value: z.number().describe("The prediction in the label's units (any training transform, such as log1p, already undone)"),
    modelVersion,
  })
  .describe('A regression model\'s prediction for one event');
export type RegressionPrediction = z.infer<typeof regressionPredictionSchema>;

export const multiclassPredictionSchema = z
  .strictObject({
    class: z.string().describe('The most probable class (the first of the model\'s classes on a tie)'),
    probabilities: z.record(z.string(), z.number()).describe("P(class) for every class of the model, in the order of the model's classes (GET /v1/models/{name})"),
    modelVersion,
  })
  .describe('A multiclass model\'s prediction for one event');
export type MulticlassPrediction = z.infer<typeof multiclassPredictionSchema>;

/** One event's prediction: its shape is the served version's label kind (GET /v1/models/{name} says which). */
export const predictionSchema = z
  .xor([binaryPredictionSchema, regressionPredictionSchema, multiclassPredictionSchema])
  .describe("The prediction of one event, shaped by the model's label kind: binary `score` and `label`, regression `value`, multiclass `class` and `probabilities`");
export type Prediction = z.infer<typeof predictionSchema>;

export const predictResponseSchema = z
  .strictObject({
    requestId: z.string(),
    model: z.string(),
    prediction: predictionSchema.optional().describe('For a request with `event`'),
    predictions: z.array(predictionSchema).optional().describe('For a request with `events`, in request order'),
  })
  .describe('Predictions in request order, with the request id to send feedback for');

/**
 * MLflow's scoring-server body (`POST /invocations`), so a client written for an MLflow model server
 * can call a sluice model by changing only the URL: `dataframe_split` is the columnar batch above
 * (its optional pandas `index` is ignored), `dataframe_records` and `instances` are batches of event
 * objects. MLflow's tensor form (`inputs`) and inference `params` have no meaning for a sluice model and
 * are refused by name. The events are checked by the same rules as on the predict route.
 */
const INVOCATION_SHAPES = ['dataframe_split', 'dataframe_records', 'instances'] as const;

export const invocationsRequestSchema = z
  .strictObject({
    dataframe_split: z
      .strictObject({ ...columnarEventsSchema, index: z.array(z.unknown()).optional().describe("pandas' row index; ignored: predictions come back in row order") })
      .optional()
      .describe('A batch in columns, as pandas `DataFrame.to_dict(orient="split")` writes it'),
    dataframe_records: z.array(rawEventSchema).min(1, 'expected at least one event').optional().describe('A batch of event objects, as pandas `to_dict(orient="records")` writes it'),
    instances: z.array(rawEventSchema).min(1, 'expected at least one event').optional().describe('A batch of event objects (the TF-serving form MLflow also takes)'),
    routingKey: routingKeySchema.optional(),
  })
  .superRefine((body, ctx) => {
    if (INVOCATION_SHAPES.filter((key) => body[key] !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "dataframe_split", "dataframe_records" or "instances" (MLflow\'s tensor form "inputs" and "params" are not taken)' });
    }
  })
  .meta({
    description: "MLflow's /invocations body: exactly one of `dataframe_split`, `dataframe_records` or `instances`",
    oneOf: INVOCATION_SHAPES.map((key) => ({ required: [key], not: { anyOf: INVOCATION_SHAPES.filter((k) => k !== key).map((k) => ({ required: [k] })) } })),
  });
export type InvocationsRequest = z.infer<typeof invocationsRequestSchema>;

export const invocationsResponseSchema = z
  .strictObject({
    predictions: z.array(predictionSchema).describe('One per event, in request order'),
  })
  .describe("MLflow's answer shape; the request id is in the X-Request-Id header");
