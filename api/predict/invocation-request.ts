import { type InvocationsRequest, invocationsRequestSchema } from '../../shared/api/predict.ts';
import { ApiError } from '../errors.ts';
import { invalidRequest } from './event-schema.ts';
import { type EventBatch, checkBatchSize } from './event-batch.ts';

/** Keys of MLflow's body that a sluice model has no use for, refused with what to send instead. */
const NOT_TAKEN: Record<string, string> = {
  inputs: 'MLflow\'s tensor form "inputs" is not taken: send the events as "dataframe_split" or "dataframe_records"',
  params: 'inference "params" are not taken: a sluice model version has no parameters at scoring time',
};

/** An MLflow `/invocations` body as the predict route's batch, with its errors naming MLflow's keys (`dataframe_split.data[3][1]`). */
export function invocationBatch(body: unknown, maxBatch: number): EventBatch {
  if (typeof body === 'object' && body !== null) {
    for (const [key, message] of Object.entries(NOT_TAKEN)) if (Object.hasOwn(body, key)) throw new ApiError('InvalidRequest', `${key}: ${message}`, { field: key });
    const b = body as Record<string, unknown>;
    for (const [field, rows] of [['dataframe_split.data', (b.dataframe_split as { data?: unknown } | undefined)?.data], ['dataframe_records', b.dataframe_records], ['instances', b.instances]] as const) {
      checkBatchSize(rows, maxBatch, field);
    }
  }
  const parsed = invocationsRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error, '');
  return asBatch(parsed.data);
}

function asBatch(body: InvocationsRequest): EventBatch {
  const routing = body.routingKey === undefined ? {} : { routingKey: body.routingKey };
  if (body.dataframe_split) {
    const { columns, data } = body.dataframe_split;
    return { request: { columns, data, ...routing }, at: { events: '', columns: 'dataframe_split.columns', data: 'dataframe_split.data' }, answer: 'invocations' };
  }
  const [key, events] = body.dataframe_records ? (['dataframe_records', body.dataframe_records] as const) : (['instances', body.instances ?? []] as const);
  return { request: { events, ...routing }, at: { events: key, columns: '', data: '' }, answer: 'invocations' };
}
