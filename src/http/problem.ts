/**
 * RFC 9457 problem details: every error Gatehouse answers with has this shape and a stable `code`.
 */
import type { FastifyReply } from 'fastify';
import { ERRORS, type ErrorCode, type GatehouseError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly request_id?: string;
}

/** The `type` URI of a code: a stable, documented page (docs/errors.md). */
export function problemType(code: ErrorCode): string {
  return `https://gatehouse.dev/errors#${code.replaceAll('_', '-')}`;
}

export function problemBody(code: ErrorCode, detail: string | undefined, requestId?: string): Problem {
  const entry = ERRORS[code];
  return {
    type: problemType(code),
    title: entry.title,
    status: entry.status,
    detail: detail ?? entry.title,
    code,
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** Sends a problem; adds `Retry-After` and `WWW-Authenticate` where the code calls for them. */
export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail?: string,
  options: { retryAfterSeconds?: number | undefined; bearerError?: 'invalid_token' | 'invalid_request' } = {},
): FastifyReply {
  const status = ERRORS[code].status;
  if (options.retryAfterSeconds !== undefined) reply.header('retry-after', String(options.retryAfterSeconds));
  if (status === 401) {
    // RFC 6750 §3: a 401 names the scheme, and the error when a token was presented.
    const error = options.bearerError ? `, error="${options.bearerError}"` : '';
    reply.header('www-authenticate', `Bearer realm="gatehouse"${error}`);
  }
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(code, detail, reply.request.id));
}

export function sendError(reply: FastifyReply, err: GatehouseError): FastifyReply {
  return sendProblem(reply, err.code, err.detail, { retryAfterSeconds: err.retryAfterSeconds });
}

/** The JSON schema of a problem, for the OpenAPI document. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details with a stable `code`.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ERRORS) },
    request_id: { type: 'string' },
  },
} as const;
