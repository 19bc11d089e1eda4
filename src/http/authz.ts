/**
 * Authorization for routes (DESIGN.md "Authorization"; SECURITY.md 60): Fastify decorators that
 * Gatehouse's own routes and library users put in `preHandler`:
 *
 *   app.get('/admin', { preHandler: app.requireRole('admin') }, …)
 *   app.get('/ops', { preHandler: app.requireGroup('ops@example.com') }, …)
 *   app.get('/reports/*', { preHandler: app.requireRule() }, …)   // ACCESS_RULES_FILE decides
 *
 * Each one authenticates like `requireUser` (401 when signed out) and then answers 403
 * `forbidden` — problem+json, or a small HTML page for a browser navigation — counted in
 * `gatehouse_access_denied_total`. Decisions read only the session token's claims: no database.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { normalisePath } from '../authz/path.js';
import { type CompiledRules, compileRules, type Decision, decide } from '../authz/rules.js';
import type { Config } from '../config/types.js';
import type { Metrics } from '../metrics/registry.js';
import type { AuthUser } from './auth.js';
import { sendProblem } from './problem.js';
import { isBrowserNavigation } from './routes/forward-auth.js';

type PreHandler = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: signed in and holding `role` (401 / 403 otherwise). */
    requireRole: (role: string) => PreHandler;
    /** preHandler: signed in and a member of the Workspace group `group` (an email). */
    requireGroup: (group: string) => PreHandler;
    /** preHandler: ACCESS_RULES_FILE decides for this method and path (any signed-in user without a file). */
    requireRule: () => PreHandler;
    /**
     * preHandler for `GET /auth/verify`: with `X-Original-URI` (and `X-Original-Method`) from
     * nginx, the rules decide for that request; without them, like requireUser.
     */
    requireForwardedRule: () => PreHandler;
    /** The compiled ACCESS_RULES_FILE (no rules when unset). */
    accessRules: CompiledRules;
  }
}

export interface AuthzPluginOptions {
  readonly config: Config;
  readonly metrics: Metrics;
}

const FORBIDDEN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forbidden</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>You do not have access to this page</h1>
<p>You are signed in, but this page is limited to certain roles or groups. Ask an administrator for access if you need it.</p>
</body></html>
`;

/** 403 for a signed-in caller a rule or guard refuses: HTML for navigations, problem+json otherwise. */
export function sendForbidden(request: FastifyRequest, reply: FastifyReply, detail: string): FastifyReply {
  reply.header('cache-control', 'no-store');
  if (isBrowserNavigation(request)) {
    return reply.code(403).type('text/html; charset=utf-8').send(FORBIDDEN_PAGE);
  }
  return sendProblem(reply, 'forbidden', detail);
}

/** The subject rules see: the session token's email, roles and groups. */
export function ruleSubject(user: AuthUser) {
  return { email: user.email, roles: user.roles, groups: user.groups };
}

/** Decides for a method and a raw request target; `undefined` when the path is refused outright. */
export function decideRequest(
  rules: CompiledRules,
  method: string,
  target: string,
  user: AuthUser | null,
): Decision | undefined {
  const path = normalisePath(target);
  if (!path.ok) return undefined;
  return decide(rules, { method, path: path.path }, user === null ? null : ruleSubject(user));
}

async function authzPlugin(app: FastifyInstance, options: AuthzPluginOptions): Promise<void> {
  const { metrics } = options;
  const rules = compileRules(options.config.authz.accessRules ?? []);
  app.decorate('accessRules', rules);

  const refuse = (request: FastifyRequest, reply: FastifyReply, via: string, detail: string): void => {
    metrics.accessDenied(via);
    sendForbidden(request, reply, detail);
  };

  /** requireUser, then `allowed(user)`. requireUser answers (and never calls next) when signed out. */
  const guard =
    (allowed: (user: AuthUser) => boolean, detail: string): PreHandler =>
    (request, reply, done) => {
      app.requireUser(request, reply, (err) => {
        if (err) return done(err);
        const user = request.user;
        if (user !== null && allowed(user)) return done();
        refuse(request, reply, 'guard', detail);
      });
    };

  app.decorate('requireRole', (role: string) => {
    if (typeof role !== 'string' || role.length === 0) throw new TypeError('requireRole needs a role name');
    return guard((user) => user.roles.includes(role), `This needs the ${role} role.`);
  });
  app.decorate('requireGroup', (group: string) => {
    if (typeof group !== 'string' || !group.includes('@'))
      throw new TypeError('requireGroup needs a group email');
    const wanted = group.toLowerCase();
    return guard((user) => user.groups.includes(wanted), 'This needs membership of a group you are not in.');
  });
  app.decorate(
    'requireRule',
    (): PreHandler => (request, reply, done) => {
      const method = request.method;
      const anonymous = decideRequest(rules, method, request.url, null);
      if (anonymous === undefined) {
        sendProblem(
          reply,
          'bad_request',
          'The request path is not allowed (encoded slash, backslash or NUL).',
        );
        return;
      }
      if (anonymous.kind === 'public') return done();
      app.requireUser(request, reply, (err) => {
        if (err) return done(err);
        const decision = decideRequest(rules, method, request.url, request.user);
        if (decision?.kind === 'allow') return done();
        refuse(request, reply, 'rule', 'An access rule refuses this request for your account.');
      });
    },
  );

  // Trust model (docs/authorization.md): the headers only ask "may this caller's own session
  // make that request?". nginx overwrites them on every auth subrequest, so a client cannot
  // change the question nginx asks; a client calling /auth/verify directly with its own headers
  // learns nothing it could not learn by making the request. No TRUST_PROXY needed.
  app.decorate(
    'requireForwardedRule',
    (): PreHandler => (request, reply, done) => {
      const uri = request.headers['x-original-uri'];
      if (typeof uri !== 'string') return app.requireUser(request, reply, done);
      const rawMethod = request.headers['x-original-method'];
      const method = typeof rawMethod === 'string' && rawMethod.length > 0 ? rawMethod.toUpperCase() : 'GET';
      const anonymous = decideRequest(rules, method, uri, null);
      // auth_request passes only 2xx, 401 and 403 on: a path refused outright is a 403.
      if (anonymous === undefined)
        return refuse(request, reply, 'verify', 'The request path is not allowed.');
      if (anonymous.kind === 'public') return done();
      app.requireUser(request, reply, (err) => {
        if (err) return done(err);
        const decision = decideRequest(rules, method, uri, request.user);
        if (decision?.kind === 'allow') return done();
        refuse(request, reply, 'verify', 'An access rule refuses this request for your account.');
      });
    },
  );
}

export default fp(authzPlugin, {
  fastify: '5.x',
  name: 'gatehouse-authz',
  dependencies: ['gatehouse-auth'],
});
