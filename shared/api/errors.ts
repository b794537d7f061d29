import { z } from 'zod';

/**
 * Every error the HTTP API can answer with, as a stable code clients may switch on. The API maps
 * each code to one HTTP status in a single table (`api/errors.ts`), so a code always means the same
 * status and the compiler flags a code without one.
 */
export const API_ERROR_CODES = [
  'InvalidJson',
  'InvalidRequest',
  'Unauthenticated',
  'Forbidden',
  'RouteNotFound',
  'MethodNotAllowed',
  'UnknownModel',
  'PipelineNotFound',
  'DeploymentNotFound',
  'ApprovalRefused',
  'DeploymentRefused',
  'RetrainingRefused',
  'RequestTimeout',
  'PayloadTooLarge',
  'BatchTooLarge',
  'UnsupportedMediaType',
  'RateLimited',
  'ModelNotReady',
  'ServingNotReady',
  'TemporalUnavailable',
  'Timeout',
  'StorageUnavailable',
  'Internal',
] as const;
export const apiErrorCodeSchema = z.enum(API_ERROR_CODES);
export type ApiErrorCode = z.infer<typeof apiErrorCodeSchema>;

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: apiErrorCodeSchema,
      message: z.string().describe('What is wrong, in words meant for the caller'),
      field: z.string().optional().describe('The request field at fault, e.g. `events[2].distance` or `headers.content-type`'),
      requestId: z.string().describe('The id to quote when asking about this request; also in the X-Request-Id header'),
    }),
  })
  .describe('Every error answer has this body; no stack trace or server detail is ever included');
export type ErrorBody = z.infer<typeof errorBodySchema>;
