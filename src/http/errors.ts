/**
 * The error boundary: every failure leaves as problem+json with a stable code. Fastify's default
 * handler echoes `err.message`, which can carry SQL, host names or secrets; this one never does —
 * a 500 body is generic and names only the request id, the cause goes to the log.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type ErrorCode, isGatehouseError } from '../errors.js';
import { sendError, sendProblem } from './problem.js';

/** Fastify's own error codes that are the client's fault, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
};

function classify(err: FastifyError): ErrorCode | undefined {
  if (err.validation) return 'validation_failed';
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return mapped;
  // Body parsers (JSON syntax, prototype poisoning) report 400 without a code of ours.
  if (err.statusCode === 400) return 'bad_request';
  if (err.statusCode === 413) return 'payload_too_large';
  if (err.statusCode === 415) return 'unsupported_media_type';
  if (err.statusCode === 429) return 'rate_limited';
  return undefined;
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isGatehouseError(err)) {
      const level = err.status >= 500 ? 'warn' : 'info';
      request.log[level]({ code: err.code, reason: err.reason, cause: describeCause(err.cause) }, err.detail);
      return sendError(reply, err);
    }
    const code = classify(err);
    if (code) {
      const detail =
        code === 'validation_failed'
          ? validationDetail(err)
          : code === 'bad_request'
            ? 'The request is malformed.'
            : undefined;
      return sendProblem(reply, code, detail);
    }
    request.log.error({ err }, 'unhandled error');
    return sendProblem(
      reply,
      'internal_error',
      `Something went wrong. Quote request id ${request.id} when reporting it.`,
    );
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, 'not_found', `No route matches ${request.method} on this path.`);
  });
}

/** Ajv's message names the field and the rule; it never contains secrets (schemas are ours). */
function validationDetail(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return 'The request is not valid.';
  const where = first.instancePath
    ? `${err.validationContext ?? 'body'}${first.instancePath}`
    : (err.validationContext ?? 'body');
  return `${where} ${first.message ?? 'is not valid'}`.slice(0, 300);
}

function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 500);
  return String(cause).slice(0, 500);
}

export default fp(errorsPlugin, { fastify: '5.x', name: 'gatehouse-errors' });
