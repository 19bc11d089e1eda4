/**
 * Input hygiene for every route (SECURITY.md H.35): a query string with malformed
 * percent-encoding or a NUL character, and a JSON body with a NUL in any string,
 * are refused with 400 before a handler sees them. Parsers downstream disagree on such input
 * (fast-querystring decodes `%zz` leniently; PostgreSQL refuses NUL in text, SQLite stores it),
 * so refusing it at the edge keeps every database and every consumer consistent.
 * The callback (/auth) is left to the OIDC parser, which refuses the same input and also writes
 * the failed sign-in to the audit trail.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isWellFormedQuery } from '../oidc/callback-params.js';
import { sendProblem } from './problem.js';

/** Bodies are small (bodyLimit); this only bounds the walk for pathological nesting. */
const MAX_DEPTH = 32;

function hasNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('\u0000') || hasNul(v, depth + 1)) return true;
  }
  return false;
}

async function inputPlugin(app: FastifyInstance, options: { routePrefix: string }): Promise<void> {
  const callback = `${options.routePrefix}/auth`;
  app.addHook('preValidation', (request, reply, done) => {
    if (request.routeOptions.url === callback) return done();
    const url = request.raw.url ?? '';
    const q = url.indexOf('?');
    if (q !== -1 && !isWellFormedQuery(url.slice(q + 1), 'nul')) {
      sendProblem(reply, 'bad_request', 'The query string is malformed.');
      return;
    }
    // A proxied body is the raw stream (src/http/proxy): it belongs to the upstream, unread here.
    if (request.body !== undefined && !(request.body instanceof Readable) && hasNul(request.body, 0)) {
      sendProblem(reply, 'bad_request', 'The request body contains a NUL character.');
      return;
    }
    done();
  });
}

export default fp(inputPlugin, { fastify: '5.x', name: 'gatehouse-input' });
