import assert from 'node:assert/strict';
import { test } from 'node:test';
import { docsPage } from '../../../api/openapi/docs-page.ts';
import { openApiDocument } from '../../../api/openapi/openapi-document.ts';

const document = openApiDocument({ maxBatch: 1000, maxBodyBytes: 1 << 20 });

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
  ] as const) {
    assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  }
  const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
  for (const ref of refs(document)) {
    const name = ref.replace('#/components/schemas/', '');
    assert.ok(schemas[name], `${ref} resolves`);
  }
});

test('the documented schemas are the ones the API validates with', () => {
  const schemas = (document.components as { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown }> }).schemas;
  assert.deepEqual(Object.keys(schemas.PredictRequest?.properties ?? {}).sort(), ['event', 'events', 'routingKey']);
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
