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

/**
 * Problem bodies by code and detail, serialised without the request id: the 401s answer junk
 * traffic and must cost no more than a bare route (docs/performance.md). Looked up by the code,
 * then by the detail string itself (no key is built per request). Bounded: a few codes carry
 * variable details; past the bound a code's remembered details are let go.
 */
const DETAILS_PER_CODE = 64;
const prefixes = new Map<ErrorCode, Map<string | undefined, string>>();

/** The problem as JSON text, the same bytes as JSON.stringify(problemBody(…)). */
export function problemJson(code: ErrorCode, detail: string | undefined, requestId?: string): string {
  let byDetail = prefixes.get(code);
  if (byDetail === undefined) {
    byDetail = new Map();
    prefixes.set(code, byDetail);
  }
  let prefix = byDetail.get(detail);
  if (prefix === undefined) {
    prefix = JSON.stringify(problemBody(code, detail)).slice(0, -1);
    if (byDetail.size >= DETAILS_PER_CODE) byDetail.clear();
    byDetail.set(detail, prefix);
  }
  return requestId ? `${prefix},"request_id":${JSON.stringify(requestId)}}` : `${prefix}}`;
}

const WWW_AUTHENTICATE = {
  none: 'Bearer realm="gatehouse"',
  invalid_token: 'Bearer realm="gatehouse", error="invalid_token"',
  invalid_request: 'Bearer realm="gatehouse", error="invalid_request"',
} as const;

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
    reply.header('www-authenticate', WWW_AUTHENTICATE[options.bearerError ?? 'none']);
  }
  // Sent as text with its content type: no per-request serialisation.
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemJson(code, detail, reply.request.id));
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
