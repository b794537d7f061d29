import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { docsPage } from '../../../api/openapi/docs-page.ts';
import { openApiDocument } from '../../../api/openapi/openapi-document.ts';
import { invocationsRequestSchema, predictRequestSchema } from '../../../shared/api/predict.ts';

const document = openApiDocument({ maxBatch: 1000, maxBodyBytes: 1 << 20 });

type Json = Record<string, unknown>;
const schemas = (document.components as { schemas: Record<string, Json> }).schemas;
const operations = Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ label: `${method.toUpperCase()} ${path}`, op })));

/** The value a local reference (`#/components/...`) points at in the document. */
const resolve = (ref: string): unknown =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);

/** Every $ref in a JSON value. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

test('the OpenAPI document covers every route, and every reference resolves', () => {
  assert.equal(document.openapi, '3.1.0');
  const paths = document.paths as Record<string, Record<string, unknown>>;
  for (const [path, method] of [
    ['/v1/models/{name}/predict', 'post'],
    ['/v1/models', 'get'],
    ['/v1/models/{name}', 'get'],
    ['/v1/feedback', 'post'],
    ['/v1/models/{name}/feedback', 'post'],
    ['/v1/pipelines/{id}/approve', 'post'],
    ['/v1/pipelines/{id}/reject', 'post'],
    ['/healthz', 'get'],
    ['/readyz', 'get'],
    ['/metrics', 'get'],
    ['/openapi.json', 'get'],
    ['/docs', 'get'],
    ['/console/session', 'post'],
    ['/v1/console/models', 'get'],
    ['/v1/console/models/{name}', 'get'],
    ['/v1/console/models/{name}/versions/{version}/evaluation', 'get'],
    ['/v1/console/approvals', 'get'],
    ['/v1/console/models/{name}/rollouts', 'get'],
    ['/v1/console/models/{name}/monitoring', 'get'],
  ] as const) {
    assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  }
  for (const ref of refs(document)) assert.ok(ref.startsWith('#/') && resolve(ref) !== undefined, `${ref} resolves`);
});

test('the document passes the official OpenAPI 3.1 schema, and every schema in it is valid JSON Schema 2020-12', async () => {
  const result = await new Validator().validate(structuredClone(document));
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  // The OpenAPI schema leaves Schema Objects to their dialect: JSON Schema 2020-12's meta-schema is what
  // refuses a `$id` with a fragment, as zod writes one.
  const ajv = new Ajv2020({ allErrors: true });
  for (const [name, schema] of Object.entries(schemas)) {
    assert.equal(ajv.validateSchema(schema), true, `${name}: ${ajv.errorsText()}`);
    assert.equal(schema.$id, undefined, name);
  }
});

test('every operation has a unique camelCase operationId and a tag the document describes', () => {
  const tags = new Map((document.tags as { name: string; description: string }[]).map((t) => [t.name, t.description]));
  const ids = operations.map(({ op }) => op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  for (const { label, op } of operations) {
    assert.match(String(op.operationId), /^[a-z][a-zA-Z]*$/, label);
    const opTags = op.tags as string[];
    assert.equal(opTags.length, 1, label);
    assert.ok(tags.get(opTags[0] ?? ''), `${label}: tag ${opTags[0]} is described`);
  }
  assert.deepEqual(
    Object.fromEntries(operations.filter(({ op }) => ['predict', 'listModels', 'getModel', 'sendFeedback', 'sendModelFeedback', 'approvePipeline'].includes(String(op.operationId))).map(({ label, op }) => [op.operationId, label])),
    {
      predict: 'POST /v1/models/{name}/predict',
      listModels: 'GET /v1/models',
      getModel: 'GET /v1/models/{name}',
      sendFeedback: 'POST /v1/feedback',
      sendModelFeedback: 'POST /v1/models/{name}/feedback',
      approvePipeline: 'POST /v1/pipelines/{id}/approve',
    },
  );
});

test('X-Request-Id is a parameter of every operation and a header of every answer; every 429 and 503 error carries Retry-After', () => {
  for (const { label, op } of operations) {
    const param = (op.parameters as Json[]).find((p) => p.name === 'X-Request-Id');
    assert.equal(param?.in, 'header', label);
    assert.ok('400' in (op.responses as Json), `${label}: a malformed X-Request-Id is answered 400`);
    for (const [status, response] of Object.entries(op.responses as Record<string, { headers: Record<string, { $ref: string }>; content?: Record<string, { schema: { $ref?: string } }> }>)) {
      assert.equal(response.headers['X-Request-Id']?.$ref, '#/components/headers/X-Request-Id', `${label} ${status}`);
      const isError = response.content?.['application/json']?.schema.$ref === '#/components/schemas/ErrorBody';
      assert.equal(response.headers['Retry-After'] !== undefined, isError && ['429', '503'].includes(status), `${label} ${status}: Retry-After`);
    }
  }
  const pattern = new RegExp(String((resolve('#/paths/~1healthz/get/parameters/0') as { schema: { pattern: string } }).schema.pattern));
  assert.ok(pattern.test('order-4711:a') && !pattern.test('has spaces') && !pattern.test('x'.repeat(129)), 'the pattern is the one the API checks');
});

test('PredictRequest and InvocationsRequest accept exactly the bodies the server accepts: one shape, never two', () => {
  // The references point into the document, so the schemas are added under a root of the same shape.
  const ajv = new Ajv2020({ allErrors: true });
  ajv.addKeyword('components');
  ajv.addSchema({ components: { schemas } }, 'openapi');
  const validate = ajv.getSchema('openapi#/components/schemas/PredictRequest');
  assert.ok(validate);
  const event = { origin: 'ORD', distance: 733 };
  for (const body of [
    { event },
    { events: [event, event] },
    { event, routingKey: 'user-1' },
    { event, events: [event] },
    { event, events: [event], routingKey: 'user-1' },
    { routingKey: 'user-1' },
    {},
    { events: [] },
    { event, model: 'x' },
    { event: 'ORD-LGA' },
    { events: [event], routingKey: '' },
    [event],
    { columns: ['origin', 'distance'], data: [['ORD', 733]] },
    { columns: ['origin', 'distance'], data: [['ORD', 733]], routingKey: 'user-1' },
    { columns: ['origin', 'distance'] },
    { data: [['ORD', 733]] },
    { columns: [], data: [['ORD']] },
    { columns: ['origin'], data: [] },
    { columns: ['origin'], data: ['ORD'] },
    { event, columns: ['origin'], data: [['ORD']] },
    { event, columns: ['origin'] },
    { events: [event], data: [['ORD']] },
  ]) {
    assert.equal(validate(body), predictRequestSchema.safeParse(body).success, JSON.stringify(body));
  }
  const validateInvocation = ajv.getSchema('openapi#/components/schemas/InvocationsRequest');
  assert.ok(validateInvocation);
  const split = { columns: ['origin', 'distance'], data: [['ORD', 733]] };
  for (const body of [
    { dataframe_split: split },
    { dataframe_split: { ...split, index: [7] } },
    { dataframe_records: [event] },
    { instances: [event, event], routingKey: 'user-1' },
    { dataframe_split: split, instances: [event] },
    { dataframe_records: [] },
    { dataframe_split: { columns: ['origin'] } },
    { inputs: { origin: ['ORD'] } },
    { dataframe_records: [event], params: {} },
    {},
  ]) {
    assert.equal(validateInvocation(body), invocationsRequestSchema.safeParse(body).success, JSON.stringify(body));
  }
});

test('the documented schemas are the ones the API validates with', () => {
  const schemas = (document.components as { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown }> }).schemas;
  assert.deepEqual(Object.keys(schemas.PredictRequest?.properties ?? {}).sort(), ['columns', 'data', 'event', 'events', 'routingKey']);
  assert.equal(schemas.PredictRequest?.additionalProperties, false);
  assert.deepEqual(
    (schemas.Prediction as { oneOf?: unknown[] }).oneOf,
    ['BinaryPrediction', 'RegressionPrediction', 'MulticlassPrediction'].map((id) => ({ $ref: `#/components/schemas/${id}` })),
    'one prediction shape per label kind',
  );
  assert.deepEqual(schemas.BinaryPrediction?.required?.sort(), ['label', 'modelVersion', 'score']);
  assert.deepEqual(schemas.RegressionPrediction?.required?.sort(), ['modelVersion', 'value']);
  assert.deepEqual(schemas.MulticlassPrediction?.required?.sort(), ['class', 'modelVersion', 'probabilities']);
  const label = (id: string) => JSON.stringify((schemas[id]?.properties?.labels as { items: { properties: { label: unknown } } }).items.properties.label);
  assert.equal(label('FeedbackRequest'), JSON.stringify({ type: 'boolean', description: 'What actually happened (e.g. the flight left more than 15 minutes late)' }));
  assert.match(label('ModelFeedbackRequest'), /"type":\["boolean","number","string"\]/);
  const errorBody = JSON.stringify(schemas.ErrorBody);
  for (const code of ['InvalidJson', 'Unauthenticated', 'Forbidden', 'UnknownModel', 'PayloadTooLarge', 'UnsupportedMediaType', 'RateLimited']) assert.ok(errorBody.includes(code));
  const predict = (document.paths as Record<string, { post: { responses: Record<string, unknown> } }>)['/v1/models/{name}/predict']?.post;
  assert.deepEqual(Object.keys(predict?.responses ?? {}).sort(), ['200', '400', '401', '403', '404', '413', '415', '429', '500', '503']);
});

test('/docs is one self-contained page: every route, no scripts, nothing fetched from elsewhere', () => {
  const html = docsPage(document);
  for (const path of Object.keys(document.paths as object)) assert.ok(html.includes(path.replace(/&/g, '&amp;')), path);
  assert.doesNotMatch(html, /<script|<link|src=|@import|https?:\/\/(?!json-schema\.org)/i);
  assert.match(html, /<style>/);
});
