import { z } from 'zod';
import { labelTaskSchema } from '../data/feature-spec.ts';
import { PREDICTION_ROUTES } from './prediction-log.ts';

/** Read-only views of what the API serves: which versions take traffic, and what an event must carry. */

export const servedVersionSchema = z.strictObject({
  version: z.number().int(),
  route: z.enum(PREDICTION_ROUTES),
  percent: z.number().describe('Share of requests this version takes (primary, canary) or mirrors (shadow)'),
  task: labelTaskSchema.describe("What the version predicts, and so the shape of its predictions and of its feedback labels: binary (a boolean label), regression (a number; `transform` is how it was trained, already undone in its predictions) or multiclass (one of `classes`)"),
  threshold: z.number().optional().describe('Binary versions only: the score at or above which `label` is true'),
  executionProvider: z.string(),
  features: z.strictObject({ numeric: z.array(z.string()), categorical: z.array(z.string()) }),
  eventSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of one event for this version'),
});

export const modelViewSchema = z
  .strictObject({ name: z.string(), configRevision: z.number().int().optional(), versions: z.array(servedVersionSchema) })
  .describe('A served model: its versions, their routes and their request schema');

export const modelListSchema = z
  .strictObject({
    configRevision: z.number().int().optional(),
    models: z.array(z.strictObject({ name: z.string(), versions: z.array(z.strictObject({ version: z.number().int(), route: z.enum(PREDICTION_ROUTES), percent: z.number(), task: labelTaskSchema })) })),
  })
  .describe('Every model the API serves');
