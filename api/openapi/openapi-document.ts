import { z } from 'zod';
import { decisionRequestSchema, decisionResponseSchema } from '../../shared/api/approvals.ts';
import { deploymentControlRequestSchema, deploymentResponseSchema, rolloutRequestSchema } from '../../shared/api/deployments.ts';
import { errorBodySchema } from '../../shared/api/errors.ts';
import { retrainRequestSchema, retrainResponseSchema } from '../../shared/api/retraining.ts';
import { feedbackRequestSchema, feedbackResponseSchema, modelFeedbackRequestSchema } from '../../shared/api/feedback.ts';
import { readinessSchema } from '../../shared/api/health.ts';
import { modelListSchema, modelViewSchema } from '../../shared/api/models.ts';
import {
  approvalsViewSchema,
  consoleSessionSchema,
  evaluationViewSchema,
  modelDetailViewSchema,
  modelsViewSchema,
  monitoringViewSchema,
  rolloutsViewSchema,
  signInRequestSchema,
} from '../../shared/api/console.ts';
import {
  binaryPredictionSchema,
  invocationsRequestSchema,
  invocationsResponseSchema,
  multiclassPredictionSchema,
  predictRequestSchema,
  predictResponseSchema,
  predictionSchema,
  rawEventSchema,
  regressionPredictionSchema,
} from '../../shared/api/predict.ts';
import type { ApiScope } from '../../shared/api/key-scopes.ts';
import { modelNameSchema } from '../../shared/registry.ts';
import { HTTP_STATUS } from '../errors.ts';
import { VALID_REQUEST_ID } from '../http/request-id.ts';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the API validates with, so the
 * documentation cannot describe a request the server would refuse. Component schemas are emitted
 * once through a registry and referenced by name.
 */

const components = z.registry<{ id: string }>();
components.add(errorBodySchema, { id: 'ErrorBody' });
components.add(rawEventSchema, { id: 'RawEvent' });
components.add(predictRequestSchema, { id: 'PredictRequest' });
components.add(binaryPredictionSchema, { id: 'BinaryPrediction' });
components.add(regressionPredictionSchema, { id: 'RegressionPrediction' });
components.add(multiclassPredictionSchema, { id: 'MulticlassPrediction' });
components.add(predictionSchema, { id: 'Prediction' });
components.add(predictResponseSchema, { id: 'PredictResponse' });
components.add(invocationsRequestSchema, { id: 'InvocationsRequest' });
components.add(invocationsResponseSchema, { id: 'InvocationsResponse' });
components.add(feedbackRequestSchema, { id: 'FeedbackRequest' });
components.add(modelFeedbackRequestSchema, { id: 'ModelFeedbackRequest' });
components.add(feedbackResponseSchema, { id: 'FeedbackResponse' });
components.add(decisionRequestSchema, { id: 'DecisionRequest' });
components.add(decisionResponseSchema, { id: 'DecisionResponse' });
components.add(retrainRequestSchema, { id: 'RetrainRequest' });
components.add(retrainResponseSchema, { id: 'RetrainResponse' });
components.add(rolloutRequestSchema, { id: 'RolloutRequest' });
components.add(deploymentControlRequestSchema, { id: 'DeploymentControlRequest' });
components.add(deploymentResponseSchema, { id: 'DeploymentResponse' });
components.add(modelListSchema, { id: 'ModelList' });
components.add(modelViewSchema, { id: 'ModelView' });
components.add(readinessSchema, { id: 'Readiness' });
components.add(signInRequestSchema, { id: 'ConsoleSignInRequest' });
components.add(consoleSessionSchema, { id: 'ConsoleSession' });
components.add(modelsViewSchema, { id: 'ConsoleModelsView' });
components.add(modelDetailViewSchema, { id: 'ConsoleModelView' });
components.add(evaluationViewSchema, { id: 'ConsoleEvaluationView' });
components.add(approvalsViewSchema, { id: 'ConsoleApprovalsView' });
components.add(rolloutsViewSchema, { id: 'ConsoleRolloutsView' });
components.add(monitoringViewSchema, { id: 'ConsoleMonitoringView' });

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ 'application/json': { schema: ref(id) } });

const TAGS = {
  predictions: 'Scoring events with the served model versions',
  models: 'What is served: models, their versions, routes and event schemas, and their history',
  feedback: 'Ground-truth labels for earlier predictions',
  approvals: 'Decisions on training pipeline runs that await approval',
  deployments: 'Rollouts of a model version: state, start, promote, pause, resume, roll back',
  retraining: 'Training a model again on the newest data',
  console: 'The web console (/console): signing in, and the JSON views its pages render',
  ops: 'Liveness, readiness, metrics and this documentation; no API key needed',
} as const;
type Tag = keyof typeof TAGS;

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed JSON, a field that fails validation or an unusable X-Request-Id (`field` names it)',
  401: 'Missing or unknown API key',
  403: 'The API key lacks the scope this route needs on this model; the message names it (e.g. `predict:flights-delay`) and the scopes the key has',
  404: 'No such model, pipeline run, deployment or route',
  408: 'The request body did not arrive before the deadline; the connection is closed',
  409: 'The workflow refused: a decision on a run not awaiting approval, self-approval, a rollout while one runs, nothing to promote or roll back',
  413: 'Body or batch larger than the configured limit',
  415: 'Content-Type is not application/json',
  429: 'The API key is over its rate limit; see Retry-After',
  500: 'Unexpected server error (details only in the server log)',
  503: 'Not ready, model not loaded, object store or Temporal unreachable, or timed out; see Retry-After',
};

const requestIdHeader = { $ref: '#/components/headers/X-Request-Id' };
/** Every error with one of these statuses says when to try again (`retryAfterSeconds` of the ApiError). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/** Any route takes the caller's X-Request-Id, and refuses a malformed one with 400 (api/http/request-id.ts). */
const requestIdParam = {
  name: 'X-Request-Id',
  in: 'header',
  required: false,
  description: 'Names the request, e.g. to send feedback for it by this id later; the answer echoes it. Without one the API makes one.',
  schema: { type: 'string', pattern: VALID_REQUEST_ID.source },
};

interface Answer {
  description: string;
  content?: object;
}

interface Operation {
  /** Stable camelCase name that client generators turn into method names. */
  id: string;
  tag: Tag;
  summary: string;
  description: string;
  scope?: ApiScope;
  /** What the scope must reach: the model the path names (the default), any model (a list filtered by the key's scopes), every model, or the run's model. */
  scopeOn?: 'path' | 'list' | 'every' | 'run';
  params?: object[];
  body?: string;
  optionalBody?: boolean;
  ok: Answer;
  /** Statuses answered with an ErrorBody; 400 (a malformed X-Request-Id), 500 and, with a scope, 401, 403 and 429 are added. */
  errors: number[];
  /** Other answers that are not an ErrorBody (/readyz's 503). */
  others?: Record<number, Answer>;
}

function operation(o: Operation) {
  const errorStatuses = [...new Set([400, 500, ...(o.scope ? [401, 403, 429] : []), ...o.errors])].sort((a, b) => a - b);
  const responses: Record<string, object> = { 200: { ...o.ok, headers: { 'X-Request-Id': requestIdHeader } } };
  for (const status of errorStatuses) {
    const headers = { 'X-Request-Id': requestIdHeader, ...(RETRY_AFTER_STATUSES.has(status) ? { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } : {}) };
    responses[status] = { description: STATUS_TEXT[status] ?? 'Error', headers, content: json('ErrorBody') };
  }
  for (const [status, response] of Object.entries(o.others ?? {})) responses[status] = { ...response, headers: { 'X-Request-Id': requestIdHeader } };
  return {
    operationId: o.id,
    tags: [o.tag],
    summary: o.summary,
    description: o.scope ? `${o.description}\n\n${scopeNeeded(o.scope, o.scopeOn ?? 'path')}` : o.description,
    parameters: [...(o.params ?? []), requestIdParam],
    ...(o.scope ? { security: [{ bearer: [] }, { apiKeyHeader: [] }] } : {}),
    ...(o.body ? { requestBody: { required: !o.optionalBody, content: json(o.body) } } : {}),
    responses,
  };
}

/** The sentence each protected operation ends with: which scope, on which models (see the `bearer` scheme for the grammar). */
function scopeNeeded(scope: ApiScope, on: NonNullable<Operation['scopeOn']>): string {
  const forms = `\`${scope}\` (every model), \`${scope}:<model>\` or \`${scope}:<pattern>\``;
  switch (on) {
    case 'path':
      return `Requires an API key with the \`${scope}\` scope on this model: ${forms} that matches it.`;
    case 'list':
      return `Requires an API key with the \`${scope}\` scope on at least one model; the answer holds only the models the key's scopes reach.`;
    case 'every':
      return `Requires an API key with the \`${scope}\` scope on every model (\`${scope}\` alone); a key limited to some models is refused (403).`;
    case 'run':
      return `Requires an API key with the \`${scope}\` scope on the run's model, which its id names (\`train-<model>-…\`): ${forms} that matches it; another id needs \`${scope}\` on every model.`;
  }
}

const pathParam = (name: string, description: string, schema: object = { type: 'string' }) => ({ name, in: 'path', required: true, description, schema });

export function openApiDocument(limits: { maxBatch: number; maxBodyBytes: number }): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(components, { target: 'draft-2020-12', io: 'input', uri: (id) => `#/components/schemas/${id}` });
  // `uri` is what makes references point into the document, but zod also writes it into each schema as
  // `$id`, and 2020-12 forbids a fragment in `$id` (ajv refuses the schema). Within the document the
  // references resolve without it; `$schema` is the dialect OpenAPI 3.1 already implies.
  for (const schema of Object.values(schemas)) {
    delete (schema as { $schema?: unknown }).$schema;
    delete (schema as { $id?: unknown }).$id;
  }
  const modelName = pathParam('name', 'Model name, as in the registry');
  const { $schema: _, ...registryName } = z.toJSONSchema(modelNameSchema, { target: 'draft-2020-12' });
  const deploymentModel = pathParam('model', 'Model name, as in the registry; another name is refused (400) before anything is relayed', registryName);
  const pipelineId = pathParam('id', 'Pipeline run (workflow) id');
  const statuses = [...new Set(Object.values(HTTP_STATUS))];
  return {
    openapi: '3.1.0',
    info: {
      title: 'sluice prediction API',
      version: '1',
      description:
        'Online predictions from the model versions the serving config routes to, ground-truth feedback, approvals for training pipeline runs and deployment control. ' +
        `Every error answer has the ErrorBody shape; the statuses used are ${statuses.sort((a, b) => a - b).join(', ')}. ` +
        'A method a path does not serve is answered 405 with an Allow header. ' +
        'Every answer carries X-Request-Id (send your own to name a request).',
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: {
      schemas,
      headers: {
        'X-Request-Id': { description: "The request's id: the caller's X-Request-Id, or one the API made", required: true, schema: { type: 'string' } },
        'Retry-After': { description: 'Seconds to wait before trying again', required: true, schema: { type: 'integer', minimum: 1 } },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Authorization: Bearer <API key> (or the X-API-Key header). A key has scopes: `predict`, `feedback` or `admin` alone reach every model; ' +
            '`predict:flights-delay` reaches one model and `admin:flights-*` the models a glob names (`*` stands for any run of lowercase letters, digits and hyphens). ' +
            "Each operation says which scope it needs on which model; a refusal is 403 naming the missing scope, e.g. `API key \"app-east\" lacks the \"predict:flights-delay\" scope (it has: predict:weather-*)`.",
        },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
    paths: {
      '/v1/models/{name}/predict': {
        post: operation({
          id: 'predict',
          tag: 'predictions',
          summary: 'Score one event or a batch',
          description:
            "Raw business events in; per event the prediction of the version that served it, shaped by that version's label kind (GET /v1/models/{name} says which): " +
            "binary `score` and `label` (score ≥ the version's threshold), regression `value` (in the label's units), multiclass `class` and `probabilities` (one per class). " +
            `At most ${limits.maxBatch} events and ${limits.maxBodyBytes} bytes per request. ` +
            'Each field the features read is required (null = unknown); unknown fields, numbers sent as strings and non-finite numbers are refused. ' +
            'With a routingKey the same key is always served by the same version; without one, the canary share is drawn at random.',
          scope: 'predict',
          params: [modelName],
          body: 'PredictRequest',
          ok: { description: 'Predictions, in request order', content: json('PredictResponse') },
          errors: [404, 413, 415, 503],
        }),
      },
      '/v1/models/{name}/invocations': {
        post: operation({
          id: 'invocations',
          tag: 'predictions',
          summary: "Score a batch sent in MLflow's scoring-server shape",
          description:
            "MLflow's `/invocations` contract for this model, so a client written for an MLflow model server needs only the URL changed: `dataframe_split`, `dataframe_records` or `instances` in, `{\"predictions\": [...]}` out (the request id is in the X-Request-Id header). " +
            'The events are checked, routed, scored and logged exactly as on the predict route; errors name the MLflow key (`dataframe_split.data[3][1]`). ' +
            `At most ${limits.maxBatch} events and ${limits.maxBodyBytes} bytes per request. MLflow's tensor form (\`inputs\`), \`params\` and CSV bodies are refused.`,
          scope: 'predict',
          params: [modelName],
          body: 'InvocationsRequest',
          ok: { description: 'Predictions, in request order', content: json('InvocationsResponse') },
          errors: [404, 413, 415, 503],
        }),
      },
      '/v1/models': {
        get: operation({ id: 'listModels', tag: 'models', summary: 'List served models', description: 'Models and the versions the serving config routes to.', scope: 'predict', scopeOn: 'list', ok: { description: 'Served models', content: json('ModelList') }, errors: [] }),
      },
      '/v1/models/{name}': {
        get: operation({
          id: 'getModel',
          tag: 'models',
          summary: 'Describe a served model',
          description: 'Its served versions, each with its label kind (`task`: binary with its threshold, regression with its training transform, multiclass with its classes), route, features and the JSON Schema of an event.',
          scope: 'predict',
          params: [modelName],
          ok: { description: 'The model', content: json('ModelView') },
          errors: [404],
        }),
      },
      '/v1/feedback': {
        post: operation({
          id: 'sendFeedback',
          tag: 'feedback',
          summary: 'Send ground-truth labels (binary models)',
          description: `Boolean labels for earlier predictions, by request id and event index; stored in the predictions bucket before the answer. At most ${limits.maxBatch} labels per request. For a regression or multiclass model, or a key whose feedback scope names models, use POST /v1/models/{name}/feedback.`,
          scope: 'feedback',
          scopeOn: 'every',
          body: 'FeedbackRequest',
          ok: { description: 'Stored', content: json('FeedbackResponse') },
          errors: [413, 415, 503],
        }),
      },
      '/v1/models/{name}/feedback': {
        post: operation({
          id: 'sendModelFeedback',
          tag: 'feedback',
          summary: 'Send ground-truth labels for one model',
          description:
            `Labels for earlier predictions of this model, by request id and event index, each checked against the label kind of the model's primary version: true/false for binary, a finite number for regression, one of its classes for multiclass. ` +
            `A label of the wrong type or an unknown class is refused (400, \`field\` names it) and nothing is stored; stored with the model's name in the predictions bucket before the answer. At most ${limits.maxBatch} labels per request.`,
          scope: 'feedback',
          params: [modelName],
          body: 'ModelFeedbackRequest',
          ok: { description: 'Stored', content: json('FeedbackResponse') },
          errors: [404, 413, 415, 503],
        }),
      },
      '/v1/pipelines/{id}/approve': {
        post: operation({ id: 'approvePipeline', tag: 'approvals', summary: 'Approve a pipeline run', description: "Relays to the run's `approve` Update as the API key's holder.", scope: 'admin', scopeOn: 'run', params: [pipelineId], body: 'DecisionRequest', ok: { description: 'Recorded', content: json('DecisionResponse') }, errors: [404, 409, 415, 503] }),
      },
      '/v1/pipelines/{id}/reject': {
        post: operation({ id: 'rejectPipeline', tag: 'approvals', summary: 'Reject a pipeline run', description: "Relays to the run's `reject` Update as the API key's holder.", scope: 'admin', scopeOn: 'run', params: [pipelineId], body: 'DecisionRequest', ok: { description: 'Recorded', content: json('DecisionResponse') }, errors: [404, 409, 415, 503] }),
      },
      '/v1/models/{name}/timeline': {
        get: operation({
          id: 'getModelTimeline',
          tag: 'models',
          summary: "A model's timeline",
          description:
            "Versions with their triggers and decisions, champion changes, rollouts with each step's verdict, drift windows and retrainings: a self-contained HTML page, or JSON when the request accepts only `application/json`.",
          scope: 'admin',
          params: [modelName],
          ok: { description: 'The timeline', content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
          errors: [404, 503],
        }),
      },
      '/v1/models/{name}/retrain': {
        post: operation({
          id: 'retrainModel',
          tag: 'retraining',
          summary: 'Retrain a model',
          description: "Starts the training pipeline on the newest data with the model's recorded spec (or the one sent); the trigger (manual, the reason, the key holder) is recorded in the new version's lineage. 409 when the model is already training.",
          scope: 'admin',
          params: [modelName],
          body: 'RetrainRequest',
          ok: { description: 'The run started (or this exact run already had)', content: json('RetrainResponse') },
          errors: [404, 408, 409, 413, 415, 503],
        }),
      },
      '/v1/deployments/{model}': {
        get: operation({ id: 'getDeployment', tag: 'deployments', summary: "A model's deployment", description: "The `modelDeployment` workflow state: phase, champion, the rollout in progress with each step's health figures and verdicts, and the history.", scope: 'admin', params: [deploymentModel], ok: { description: 'The deployment', content: json('DeploymentResponse') }, errors: [404, 503] }),
      },
      '/v1/deployments/{model}/rollout': {
        post: operation({
          id: 'startRollout',
          tag: 'deployments',
          summary: 'Start a rollout',
          description: "Relays to the deployment workflow's `startRollout` Update as the API key's holder, starting the workflow if the model has none. The version must be registered and approved.",
          scope: 'admin',
          params: [deploymentModel],
          body: 'RolloutRequest',
          ok: { description: 'The rollout started', content: json('DeploymentResponse') },
          errors: [408, 409, 413, 415, 503],
        }),
      },
      ...Object.fromEntries(
        (
          [
            ['promote', 'Promote the candidate now', 'Skips the remaining canary steps: the candidate becomes champion and the old champion is archived, in one registry change.'],
            ['pause', 'Pause the rollout', 'The split stays as it is and no step is judged until `resume`.'],
            ['resume', 'Resume a paused rollout', 'The current step bakes again from now.'],
            ['rollback', 'Roll back now', 'With a rollout in progress: the champion takes all traffic again. Without one: the previous champion (archived at the last promotion) is restored.'],
          ] as const
        ).map(([action, summary, description]) => [
          `/v1/deployments/{model}/${action}`,
          {
            post: operation({
              id: `${action}Deployment`,
              tag: 'deployments',
              summary,
              description: `${description} Relayed to the deployment workflow's \`${action}\` Update as the API key's holder; the body (a reason) may be omitted.`,
              scope: 'admin',
              params: [deploymentModel],
              body: 'DeploymentControlRequest',
              optionalBody: true,
              ok: { description: 'Done', content: json('DeploymentResponse') },
              errors: [404, 408, 409, 415, 503],
            }),
          },
        ]),
      ),
      '/console/session': {
        post: operation({
          id: 'openConsoleSession',
          tag: 'console',
          summary: 'Sign in to the console',
          description:
            'Exchanges an API key with the `predict` or `admin` scope (on any model) for a one-hour console session: the answer sets an HttpOnly, SameSite=Strict cookie holding a token the server signed (never the key) and names the CSRF token that approve and reject forms send back. ' +
            'The sign-in page posts the same fields as a form and is redirected to the console. A request whose Origin is another site is refused (403).',
          body: 'ConsoleSignInRequest',
          ok: { description: 'The session', content: json('ConsoleSession') },
          errors: [401, 403, 413, 415, 429],
        }),
      },
      ...Object.fromEntries(
        (
          [
            ['/v1/console/models', 'getConsoleModels', 'Models at a glance', 'Every registered model the key may read: champion, versions in flight, last drift verdict, freshness of its online features, approvals waiting.', 'ConsoleModelsView', []],
            ['/v1/console/models/{name}', 'getConsoleModel', "A model's versions", 'Versions with status history and lineage (dataset version, feature-definition hash, code version, trainer, seed, run with its Temporal UI link), and two versions compared metric by metric (`?a=&b=`).', 'ConsoleModelView', [modelName]],
            [
              '/v1/console/models/{name}/versions/{version}/evaluation',
              'getConsoleEvaluation',
              "A version's evaluation",
              'The figures, chart points (ROC, precision–recall, reliability bins, score histogram by label; regression sample; multiclass confusion matrix) and gate verdicts as the run stored them, with the champion scored in the same run.',
              'ConsoleEvaluationView',
              [modelName, pathParam('version', 'Version number', { type: 'integer', minimum: 1 })],
            ],
            ['/v1/console/approvals', 'getConsoleApprovals', 'What awaits a decision', "Every version still a candidate (of the models the key may read), its pipeline run and that run's approval gate state.", 'ConsoleApprovalsView', []],
            ['/v1/console/models/{name}/rollouts', 'getConsoleRollouts', "A model's rollouts", "Each rollout's steps with their health figures and verdicts, and the traffic split of the serving config now.", 'ConsoleRolloutsView', [modelName]],
            ['/v1/console/models/{name}/monitoring', 'getConsoleMonitoring', "A model's monitoring", 'Judged windows with drift verdicts and realized performance, the drift report of one window (`?until=`, by default the newest) per feature, and the retrainings with their triggers.', 'ConsoleMonitoringView', [modelName]],
          ] as const
        ).map(([path, id, summary, description, schema, params]) => [
          path,
          {
            get: operation({
              id,
              tag: 'console',
              summary,
              description: `${description} The console page of the same path under /console renders this object. An \`admin\` key on the same models, or a console session's cookie, reads it too.`,
              scope: 'predict',
              scopeOn: params.length ? 'path' : 'list',
              params: [...params],
              ok: { description: summary, content: json(schema) },
              errors: [404, 503],
            }),
          },
        ]),
      ),
      '/healthz': { get: operation({ id: 'checkLiveness', tag: 'ops', summary: 'Liveness', description: 'The process answers.', ok: { description: 'Alive' }, errors: [] }) },
      '/readyz': {
        get: operation({
          id: 'checkReadiness',
          tag: 'ops',
          summary: 'Readiness',
          description: 'Ready once the serving config has been read and every model in it has a loaded version; reports a stale config, load errors and the execution providers in use.',
          ok: { description: 'Ready', content: json('Readiness') },
          errors: [],
          others: { 503: { description: 'Not ready', content: json('Readiness') } },
        }),
      },
      '/metrics': { get: operation({ id: 'getMetrics', tag: 'ops', summary: 'Prometheus metrics', description: 'Text exposition format 0.0.4.', ok: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, errors: [] }) },
      '/openapi.json': { get: operation({ id: 'getOpenApiDocument', tag: 'ops', summary: 'This document', description: 'OpenAPI 3.1.', ok: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } }, errors: [] }) },
      '/docs': { get: operation({ id: 'getDocs', tag: 'ops', summary: 'Human-readable documentation', description: 'This document as a self-contained HTML page.', ok: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, errors: [] }) },
    },
  };
}
