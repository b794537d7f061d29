import { z } from 'zod';

/**
 * Ground truth for earlier predictions, joined to the prediction log by request id and event index
 * (the position of the event in its request's `events`, 0 for a single `event`).
 */

export const feedbackLabelSchema = z.strictObject({
  requestId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected the requestId of a prediction'),
  eventIndex: z.number().int().nonnegative().default(0),
  label: z.boolean().describe('What actually happened (e.g. the flight left more than 15 minutes late)'),
  observedAt: z.iso.datetime({ offset: true }).optional().describe('When the outcome was known; defaults to when the label is received'),
});
export type FeedbackLabel = z.output<typeof feedbackLabelSchema>;

export const feedbackRequestSchema = z
  .strictObject({ labels: z.array(feedbackLabelSchema).min(1, 'expected at least one label') })
  .describe('Ground-truth labels for earlier predictions');
export type FeedbackRequest = z.output<typeof feedbackRequestSchema>;

export const feedbackResponseSchema = z
  .strictObject({ requestId: z.string(), accepted: z.number().int(), key: z.string().describe('Object key the labels were stored under') })
  .describe('The labels were stored');
