/**
 * The tutorial's protected sample route, and a small per-user chat built on it.
 */
import type { FastifyInstance } from 'fastify';
import type { Responder } from '../../chat/responder.js';
import type { Config } from '../../config/types.js';
import type { ChatMessage, Store } from '../../store/types.js';
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

export async function chatRoutes(app: FastifyInstance, options: ChatRoutesOptions): Promise<void> {
  const { config, store, responder, now } = options;
  app.addSchema(messageSchema);

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
      schema: {
        summary: 'Send a chat message',
        description: 'Stores the message and a reply, both visible only to their owner.',
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
    async (request) => {
      const user = request.user!;
      const text = (request.body as { message: string }).message.trim();
      const previous = await store.chat.count(user.id);
      const mine = await store.chat.append(user.id, 'user', text, new Date(now()));
      const answer = await responder.reply(text, {
        userName: user.name,
        userEmail: user.email,
        previousMessages: Math.floor(previous / 2),
      });
      const reply = await store.chat.append(user.id, 'assistant', answer, new Date(now()));
      return { message: view(mine), reply: view(reply) };
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
