import { z } from 'zod';
import type { LabelTask } from '../data/feature-spec.ts';

/**
 * Ground truth for earlier predictions, joined to the prediction log by request id and event index
 * (the position of the event in its request's `events`, 0 for a single `event`).
 *
 * Two routes take the same body: `POST /v1/feedback` takes boolean labels (binary models, as it
 * always has); `POST /v1/models/{name}/feedback` checks each label against that model's label kind
 * (a boolean, a finite number, or one of its classes) and stores the model's name with it.
 */

const feedbackFields = {
  requestId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected the requestId of a prediction'),
  eventIndex: z.number().int().nonnegative().default(0),
  observedAt: z.iso.datetime({ offset: true }).optional().describe('When the outcome was known; defaults to when the label is received'),
};

export const feedbackLabelSchema = z.strictObject({
  ...feedbackFields,
  label: z.boolean().describe('What actually happened (e.g. the flight left more than 15 minutes late)'),
});

export const feedbackRequestSchema = z
  .strictObject({ labels: z.array(feedbackLabelSchema).min(1, 'expected at least one label') })
  .describe('Ground-truth labels for earlier predictions of binary models');

/** A label as stored: a binary outcome, a regression value or a multiclass class. */
export const labelValueSchema = z.union([z.boolean(), z.number(), z.string()]);

export const modelFeedbackLabelSchema = z.strictObject({
  ...feedbackFields,
  label: labelValueSchema.describe("What actually happened, in the model's label kind (GET /v1/models/{name}): true/false for binary, a finite number for regression, one of its classes for multiclass"),
});
export type FeedbackLabel = z.output<typeof modelFeedbackLabelSchema>;

export const modelFeedbackRequestSchema = z
  .strictObject({ labels: z.array(modelFeedbackLabelSchema).min(1, 'expected at least one label') })
  .describe("Ground-truth labels for earlier predictions of one model, each checked against the model's label kind");
export type FeedbackRequest = z.output<typeof modelFeedbackRequestSchema>;

/** The label a model of this task accepts, its errors naming the model and its kind. */
export function labelSchemaFor(task: LabelTask, model: string) {
  const shown = JSON.stringify(model);
  switch (task.kind) {
    case 'binary':
      return z.boolean({ error: `expected true or false: model ${shown} is a binary model` });
    case 'regression':
      return z.number({ error: `expected a finite number: model ${shown} is a regression model` });
    case 'multiclass': {
      const classes = task.classes.map((c) => JSON.stringify(c)).join(', ');
      return z.string({ error: `expected one of the classes ${classes}: model ${shown} is a multiclass model` }).refine((label) => task.classes.includes(label), {
        error: (issue) => `${JSON.stringify(issue.input)} is not a class of multiclass model ${shown}; its classes are ${classes}`,
      });
    }
  }
}

/** The per-model feedback body with every label checked against the model's task. */
export function feedbackRequestSchemaFor(task: LabelTask, model: string) {
  return z.strictObject({ labels: z.array(z.strictObject({ ...feedbackFields, label: labelSchemaFor(task, model) })).min(1, 'expected at least one label') });
}

export const feedbackResponseSchema = z
  .strictObject({ requestId: z.string(), accepted: z.number().int(), key: z.string().describe('Object key the labels were stored under') })
  .describe('The labels were stored');
