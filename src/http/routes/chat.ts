/**
 * The tutorial's protected sample route, and a small per-user chat built on it.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Responder } from '../../chat/responder.js';
import { ChatService } from '../../chat/service.js';
import type { Config } from '../../config/types.js';
import { GatehouseError, isGatehouseError } from '../../errors.js';
import type { ChatMessage, Store } from '../../store/types.js';
import { type Problem, problemBody } from '../problem.js';
import { SECURED, UNAUTHORIZED } from '../schemas.js';

export interface ChatRoutesOptions {
  readonly config: Config;
  readonly store: Store;
  readonly responder: Responder;
  readonly now: () => number;
}

const messageSchema = {
  $id: 'ChatMessage',
  type: 'object',
  required: ['id', 'role', 'content', 'created_at'],
  properties: {
    id: { type: 'integer' },
    role: { type: 'string', enum: ['user', 'assistant'] },
    content: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

function view(m: ChatMessage) {
  return { id: m.id, role: m.role, content: m.content, created_at: m.createdAt.toISOString() };
}

function wantsEventStream(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes('text/event-stream') === true;
}

/** The problem an `error` event carries: a GatehouseError's own, otherwise a generic 500. */
function streamProblem(err: unknown, requestId: string): Problem {
  if (isGatehouseError(err)) return problemBody(err.code, err.detail, requestId);
  return problemBody(
    'internal_error',
    `Something went wrong. Quote request id ${requestId} when reporting it.`,
    requestId,
  );
}

export async function chatRoutes(app: FastifyInstance, options: ChatRoutesOptions): Promise<void> {
  const { config, store, responder, now } = options;
  const service = new ChatService({ store, responder, now });
  app.addSchema(messageSchema);
  app.log.info({ responder: responder.name }, 'chat responder');

  // The reply schema is compiled once and serialised with fast-json-stringify: this route is the
  // benchmark's "authenticated request", and it touches no database.
  app.get(
    '/chat',
    {
      preHandler: app.requireUser,
      schema: {
        summary: 'The protected sample route',
        description:
          'The tutorial\'s `/chat`: `{"message":"Welcome!","user":{…}}` for the signed-in user. No database trip.',
        tags: ['chat'],
        ...SECURED,
        response: {
          200: {
            type: 'object',
            required: ['message', 'user'],
            properties: {
              message: { type: 'string' },
              user: {
                type: 'object',
                required: ['user_id', 'user_email'],
                properties: { user_id: { type: 'string' }, user_email: { type: 'string' } },
              },
            },
          },
          ...UNAUTHORIZED,
        },
      },
    },
    async (request) => {
      const user = request.user!;
      return { message: 'Welcome!', user: { user_id: user.id, user_email: user.email } };
    },
  );

  app.post(
    '/chat',
    {
      preHandler: app.requireUser,
      // The app's Ajv coerces types (right for query strings); a JSON body's message must really
      // be a string, not a number or boolean turned into one.
      preValidation: (request, _reply, done) => {
        const body = request.body as { message?: unknown } | null | undefined;
        if (body && typeof body === 'object' && 'message' in body && typeof body.message !== 'string')
          return done(new GatehouseError('validation_failed', 'body/message must be string'));
        done();
      },
      schema: {
        summary: 'Send a chat message',
        description:
          'Stores the message and a reply, both visible only to their owner. With `Accept: text/event-stream` ' +
          'the reply is streamed as server-sent events: `token` events (`{"delta":"…"}`), then one `done` event ' +
          '(`{"message":…,"reply":…}`, as in the JSON answer), or one `error` event carrying a problem with its ' +
          '`code` (for example `upstream_error`). Nothing is stored when the reply fails.',
        tags: ['chat'],
        ...SECURED,
        body: {
          type: 'object',
          required: ['message'],
          additionalProperties: false,
          properties: { message: { type: 'string', minLength: 1, maxLength: config.chat.maxMessageLength } },
        },
        response: {
          200: {
            type: 'object',
            required: ['message', 'reply'],
            properties: { message: { $ref: 'ChatMessage#' }, reply: { $ref: 'ChatMessage#' } },
          },
          ...UNAUTHORIZED,
        },
      },
    },
    async (request, reply) => {
      const auth = request.user!;
      const user = { id: auth.id, email: auth.email, name: auth.name };
      const text = (request.body as { message: string }).message.trim();
      if (!text) throw new GatehouseError('validation_failed', 'body/message must not be blank');

      // The browser going away (closed tab, aborted fetch) cancels the upstream call too.
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort(new Error('client went away'));
      });

      if (!wantsEventStream(request.headers.accept)) {
        const exchange = await service.send(user, text, { signal: abort.signal });
        return { message: view(exchange.message), reply: view(exchange.reply) };
      }

      // Server-sent events (HTML Living Standard §9.2). The headers set so far (security headers,
      // CORS, request id) go out with the stream; errors after this point travel as an event.
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx buffers proxied responses by default, which would hold the stream back.
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) => {
        if (!raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      try {
        const exchange = await service.send(user, text, {
          signal: abort.signal,
          onToken: (delta) => send('token', { delta }),
        });
        send('done', { message: view(exchange.message), reply: view(exchange.reply) });
      } catch (err) {
        if (!abort.signal.aborted) {
          const problem = streamProblem(err, request.id);
          if (!isGatehouseError(err)) request.log.error({ err }, 'unhandled error in chat stream');
          request.log[problem.status >= 500 ? 'warn' : 'info'](
            { code: problem.code, reason: isGatehouseError(err) ? err.reason : undefined },
            'chat stream failed',
          );
          send('error', problem);
        }
      } finally {
        raw.end();
      }
      return reply;
    },
  );

  app.get(
    '/chat/messages',
    {
      preHandler: app.requireUser,
      schema: {
        summary: "Page through the caller's own chat history",
        description: 'Newest first. Pass `next_cursor` back as `before` for the next page.',
        tags: ['chat'],
        ...SECURED,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['messages', 'next_cursor'],
            properties: {
              messages: { type: 'array', items: { $ref: 'ChatMessage#' } },
              next_cursor: { type: ['integer', 'null'] },
            },
          },
          ...UNAUTHORIZED,
        },
      },
    },
    async (request) => {
      const user = request.user!;
      const { before, limit } = request.query as { before?: number; limit: number };
      const page = await store.chat.list(user.id, { ...(before ? { before } : {}), limit: limit + 1 });
      const more = page.length > limit;
      const messages = page.slice(0, limit);
      return { messages: messages.map(view), next_cursor: more ? (messages.at(-1)?.id ?? null) : null };
    },
  );
}
