import { performance } from 'node:perf_hooks';
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { hashApiKey, type KeyRing, type Principal } from '../auth/key-ring.ts';
import type { ApprovalRelay } from '../approvals/approval-relay.ts';
import { ApiError } from '../errors.ts';
import { readBody, readJsonBody } from '../http/read-json-body.ts';
import { invalidRequest } from '../predict/event-schema.ts';
import type { ApiScope } from '../../shared/api/key-scopes.ts';
import { trainingPipelineModel } from '../../shared/pipeline-identity.ts';
import { ANY_MODEL, EVERY_MODEL, type ModelReach } from '../auth/key-grants.ts';
import { type ConsoleSessionView, decisionFormSchema, signInRequestSchema } from '../../shared/api/console.ts';
import type { Logger } from '../../shared/logger.ts';
import { type ConsoleSources, loadView } from './console-sources.ts';
import { type ConsoleSession, type ConsoleSessions, SESSION_TTL_MS, sessionCookie, sessionCookieHeader } from './console-session.ts';
import type { Viewer } from './pages/layout.ts';
import { approvalsPage } from './pages/approvals-page.ts';
import { evaluationPage } from './pages/evaluation-page.ts';
import { modelPage } from './pages/model-page.ts';
import { modelsPage } from './pages/models-page.ts';
import { monitoringPage } from './pages/monitoring-page.ts';
import { rolloutsPage } from './pages/rollouts-page.ts';
import { signInPage } from './pages/sign-in-page.ts';
import { fromSameOrigin } from './same-origin.ts';
import { loadApprovalsView } from './views/approvals-view.ts';
import { loadEvaluationView } from './views/evaluation-view.ts';
import { loadModelView } from './views/model-view.ts';
import { loadModelsView } from './views/models-view.ts';
import { loadMonitoringView } from './views/monitoring-view.ts';
import { loadRolloutsView } from './views/rollouts-view.ts';

export interface ConsoleDeps {
  keys: KeyRing;
  sessions: ConsoleSessions;
  sources: ConsoleSources;
  approvals: ApprovalRelay;
  logger: Logger;
  maxBodyBytes: number;
}

/** Reading a console page or view: a key that may predict (applications' keys) or administer, on the model it shows; lists show the models the key may read. */
const READ_SCOPES: readonly ApiScope[] = ['predict', 'admin'];
const ADMIN: readonly ApiScope[] = ['admin'];

interface Reader {
  principal: Principal;
  session?: ConsoleSession;
}

/** The request came over TLS (directly, or through a proxy Express is told to trust). */
const isSecure = (req: Request) => req.secure;

/** Where to go after signing in: a console path only, so the form cannot be made to redirect anywhere else. */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/console(\/[^/\\]|$|\?)/.test(next) ? next : '/console/models');

const positiveInt = (value: unknown, field: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ApiError('InvalidRequest', `${field} must be a version number`, { field: `path.${field}` });
  return n;
};

/** The line the approvals page shows after a decision from it (the redirect names the decision, the run and the gate's status after it). */
function decidedFlash(query: Request['query']): string | undefined {
  const { decided, pipeline, gate } = query;
  if (typeof decided !== 'string' || typeof pipeline !== 'string') return undefined;
  return `${decided === 'reject' ? 'Rejection' : 'Approval'} of ${pipeline} recorded${typeof gate === 'string' ? `; its approval gate is now ${gate}` : ''}.`;
}

/**
 * The console: server-rendered pages under `/console` and the JSON views they render under
 * `/v1/console`. Scripts read the views with an API key header; browsers with the session cookie
 * signing in gives them. Each page and view answers with a Server-Timing header of its own time
 * (loading plus rendering), which the browser test prints.
 */
export function createConsoleRouter(deps: ConsoleDeps): Router {
  const router = express.Router();

  /** Who reads: the API key the request presents, else its session; undefined when it carries neither (a page then asks to sign in). */
  const readerOf = (req: Request, reach: ModelReach): Reader | undefined => {
    if (req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined) return { principal: deps.keys.authorize(req, READ_SCOPES, reach) };
    const token = sessionCookie(req);
    const session = token === undefined ? undefined : deps.sessions.read(token);
    if (!session) return undefined;
    return { principal: deps.keys.authorizeDigest(session.keyDigest, READ_SCOPES, reach, 'cookie'), session };
  };
  const viewerOf = ({ principal: { id, grants }, session }: Reader): Viewer => ({
    id,
    canAct: grants.allows(ADMIN, ANY_MODEL),
    canDecide: (model) => grants.allows(ADMIN, model),
    ...(session ? { csrfToken: session.csrfToken } : {}),
  });

  const timed = async <T>(res: Response, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const out = await work();
    res.setHeader('Server-Timing', `render;dur=${(performance.now() - started).toFixed(1)}`);
    return out;
  };

  /** A view and what it is about: the model its path names, or a list (any model) the loader filters by the reader's scopes. */
  interface Loader<V> {
    reach: (req: Request) => ModelReach;
    load: (req: Request, principal: Principal) => Promise<V>;
  }
  /** A page: its view loaded and rendered for a reader, or a redirect to sign in. */
  const page = <V>({ reach, load }: Loader<V>, render: (view: V, viewer: Viewer, req: Request) => string) => async (req: Request, res: Response) => {
    const reader = readerOf(req, reach(req));
    if (!reader) return res.redirect(303, `/console/sign-in?next=${encodeURIComponent(req.originalUrl)}`);
    const html = await timed(res, async () => render(await loadView(() => load(req, reader.principal)), viewerOf(reader), req));
    res.type('html').send(html);
  };
  /** A view as JSON: the same object its page renders. */
  const view = <V>({ reach, load }: Loader<V>) => async (req: Request, res: Response) => {
    const reader = readerOf(req, reach(req));
    if (!reader) throw new ApiError('Unauthenticated', 'sign in (POST /console/session) or send "Authorization: Bearer <key>"', { field: 'headers.authorization' });
    res.json(await timed(res, () => loadView(() => load(req, reader.principal))));
  };

  const name = (req: Request) => String(req.params.name);
  const list = (): ModelReach => ANY_MODEL;
  const readable = ({ grants }: Principal) => (model: string) => grants.allows(READ_SCOPES, model);
  const loaders = {
    models: { reach: list, load: (_req: Request, principal: Principal) => loadModelsView(deps.sources, new Date(), readable(principal)) },
    model: { reach: name, load: (req: Request) => loadModelView(deps.sources, name(req), { a: req.query.a, b: req.query.b }) },
    evaluation: { reach: name, load: (req: Request) => loadEvaluationView(deps.sources, name(req), positiveInt(req.params.version, 'version')) },
    approvals: { reach: list, load: (_req: Request, principal: Principal) => loadApprovalsView(deps.sources, readable(principal)) },
    rollouts: { reach: name, load: (req: Request) => loadRolloutsView(deps.sources, name(req)) },
    monitoring: { reach: name, load: (req: Request) => loadMonitoringView(deps.sources, name(req), typeof req.query.until === 'string' ? req.query.until : undefined) },
  } satisfies Record<string, Loader<unknown>>;

  router.get('/console', (_req, res) => res.redirect(303, '/console/models'));
  router.get('/console/models', page(loaders.models, modelsPage));
  router.get('/console/models/:name', page(loaders.model, modelPage));
  router.get('/console/models/:name/versions/:version/evaluation', page(loaders.evaluation, evaluationPage));
  router.get('/console/approvals', page(loaders.approvals, (v, viewer, req) => approvalsPage(v, viewer, decidedFlash(req.query))));
  router.get('/console/models/:name/rollouts', page(loaders.rollouts, rolloutsPage));
  router.get('/console/models/:name/monitoring', page(loaders.monitoring, monitoringPage));

  router.get('/v1/console/models', view(loaders.models));
  router.get('/v1/console/models/:name', view(loaders.model));
  router.get('/v1/console/models/:name/versions/:version/evaluation', view(loaders.evaluation));
  router.get('/v1/console/approvals', view(loaders.approvals));
  router.get('/v1/console/models/:name/rollouts', view(loaders.rollouts));
  router.get('/v1/console/models/:name/monitoring', view(loaders.monitoring));

  /** A form's fields (application/x-www-form-urlencoded) or a JSON body, checked against `schema`. */
  const fields = async <S extends z.ZodType>(req: Request, schema: S): Promise<{ data: z.output<S>; form: boolean }> => {
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const raw = form ? Object.fromEntries(new URLSearchParams((await readBody(req, deps.maxBodyBytes)).toString('utf8'))) : await readJsonBody(req, deps.maxBodyBytes);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw invalidRequest(parsed.error, '');
    return { data: parsed.data, form };
  };
  const requireSameOrigin = (req: Request) => {
    if (!fromSameOrigin(req, isSecure(req))) throw new ApiError('Forbidden', 'cross-site request refused: the Origin (or Sec-Fetch-Site) header does not name this console', { field: 'headers.origin' });
  };

  router.get('/console/sign-in', (req, res) => {
    res.type('html').send(signInPage(safeNext(req.query.next)));
  });

  // Signing in is checked for origin too: a cross-site form must not sign a browser in under someone else's key.
  router.post('/console/session', async (req, res) => {
    requireSameOrigin(req);
    const { data, form } = await fields(req, signInRequestSchema);
    let principal: Principal;
    try {
      principal = deps.keys.authorizeDigest(hashApiKey(data.key), READ_SCOPES, ANY_MODEL, 'key');
    } catch (err) {
      // A person at the form sees the refusal on the form, with the status of the error table.
      if (form && err instanceof ApiError) return res.status(err.status).type('html').send(signInPage(safeNext(data.next), err.message));
      throw err;
    }
    const { token, session } = deps.sessions.open(hashApiKey(data.key), principal.id);
    res.setHeader('Set-Cookie', sessionCookieHeader(token, SESSION_TTL_MS / 1000, isSecure(req)));
    deps.logger.info('console session opened', { requestId: String(res.getHeader('X-Request-Id')), by: principal.id });
    if (form) return res.redirect(303, safeNext(data.next));
    const body: ConsoleSessionView = { keyId: principal.id, scopes: [...principal.grants.scopes], expiresAt: new Date(session.expiresAt).toISOString(), csrfToken: session.csrfToken };
    res.json(body);
  });

  /** The session of a state-changing request, its CSRF token checked (form field `csrf` or X-CSRF-Token header). */
  const actingSession = (req: Request, csrf: unknown, scopes: readonly ApiScope[], reach: ModelReach): Principal => {
    requireSameOrigin(req);
    const token = sessionCookie(req);
    const session = token === undefined ? undefined : deps.sessions.read(token);
    if (!session) throw new ApiError('Unauthenticated', 'no console session, or it expired: sign in again at /console/sign-in', { field: 'cookie' });
    if (!deps.sessions.csrfMatches(session, req.headers['x-csrf-token'] ?? csrf)) throw new ApiError('Forbidden', 'the CSRF token is missing or is not this session\'s: reload the page and try again', { field: 'csrf' });
    return deps.keys.authorizeDigest(session.keyDigest, scopes, reach, 'cookie');
  };

  router.post('/console/session/end', async (req, res) => {
    const { data } = await fields(req, decisionFormSchema.pick({ csrf: true }));
    actingSession(req, data.csrf, READ_SCOPES, ANY_MODEL);
    res.setHeader('Set-Cookie', sessionCookieHeader('', 0, isSecure(req)));
    res.redirect(303, '/console/sign-in');
  });

  // The same Update as the CLI and POST /v1/pipelines/{id}/approve, recorded as the session's key holder.
  router.post('/console/approvals/:pipeline', async (req, res) => {
    const { data } = await fields(req, decisionFormSchema);
    const pipeline = String(req.params.pipeline);
    // As on POST /v1/pipelines/{id}/approve: the admin scope on the model the run's id names.
    const principal = actingSession(req, data.csrf, ADMIN, trainingPipelineModel(pipeline) ?? EVERY_MODEL);
    const state = await deps.approvals.decide(pipeline, data.decision, { by: principal.id, comment: data.comment });
    deps.logger.info('approval decision relayed from the console', { requestId: String(res.getHeader('X-Request-Id')), pipeline, decision: data.decision, by: principal.id });
    res.redirect(303, `/console/approvals?${new URLSearchParams({ decided: data.decision, pipeline, gate: state.status }).toString()}`);
  });

  return router;
}
