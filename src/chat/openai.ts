/**
 * An OpenAI-compatible responder: `POST {CHAT_API_URL}/chat/completions` with `stream: true`
 * (the Chat Completions API; its stream is server-sent events of `chat.completion.chunk` objects,
 * ended by `data: [DONE]`). Any failure upstream — a non-2xx status, a timeout, a body that is
 * not what the API documents — becomes GatehouseError('upstream_error') (502). The upstream's
 * body and our API key never reach the client or the log message: only a short reason does.
 */
import { GatehouseError } from '../errors.js';
import type { ChatContext, Responder } from './responder.js';

export interface OpenAiResponderOptions {
  /** Base URL, for example `https://api.openai.com/v1`; a query string is kept (some gateways need one). */
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly model: string;
  readonly timeoutSeconds: number;
  /** Longest reply accepted, in characters; past it the reply is cut off. */
  readonly maxReplyLength?: number;
  readonly fetch?: typeof fetch;
}

const SYSTEM_PROMPT =
  'You are the friendly sample assistant of Gatehouse, a sign-in gateway. Answer briefly. The user is signed in';

/** `{base}/chat/completions`, keeping the base's path prefix and query string. */
export function completionsUrl(apiUrl: string): URL {
  const url = new URL(apiUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
  return url;
}

function upstreamError(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_error', 'The chat service failed to answer. Try again later.', {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

export class OpenAiResponder implements Responder {
  readonly name = 'openai';
  readonly #options: OpenAiResponderOptions;
  readonly #url: URL;

  constructor(options: OpenAiResponderOptions) {
    if (!options.apiKey || !options.model) throw new TypeError('apiKey and model are required');
    if (!(options.timeoutSeconds > 0)) throw new TypeError('timeoutSeconds must be positive');
    this.#options = options;
    this.#url = completionsUrl(options.apiUrl);
  }

  async *stream(message: string, context: ChatContext, signal: AbortSignal): AsyncIterable<string> {
    const { apiKey, model, timeoutSeconds } = this.#options;
    const maxReply = this.#options.maxReplyLength ?? 32_000;
    const doFetch = this.#options.fetch ?? fetch;
    // One deadline for the whole exchange, streaming included: a model that trickles forever
    // must not hold the request (and a database-free worker) open.
    const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
    const combined = AbortSignal.any([signal, timeout]);
    const who = context.userName?.trim() || context.userEmail;

    let response: Response;
    try {
      response = await doFetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
          authorization: `Bearer ${apiKey}`,
        },
        body: JSON.stringify({
          model,
          stream: true,
          messages: [
            { role: 'system', content: `${SYSTEM_PROMPT} as ${who}.` },
            ...context.history.map((t) => ({ role: t.role, content: t.content })),
            { role: 'user', content: message },
          ],
        }),
        signal: combined,
        redirect: 'error',
      });
    } catch (err) {
      throw failure(err, signal, timeout);
    }

    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw upstreamError(`upstream_status_${response.status}`);
    }
    const type = response.headers.get('content-type') ?? '';
    let length = 0;
    try {
      if (type.startsWith('application/json')) {
        // A server that ignores `stream: true` answers with one completion object.
        const text = contentOf(await response.json(), 'message');
        if (text === undefined) throw upstreamError('upstream_garbage');
        yield text.slice(0, maxReply);
        return;
      }
      if (!type.startsWith('text/event-stream') || !response.body)
        throw upstreamError('upstream_content_type');
      let sawDone = false;
      for await (const data of sseData(response.body)) {
        if (data === '[DONE]') {
          sawDone = true;
          break;
        }
        let chunk: unknown;
        try {
          chunk = JSON.parse(data);
        } catch (err) {
          throw upstreamError('upstream_garbage', err);
        }
        if (isObject(chunk) && 'error' in chunk) throw upstreamError('upstream_stream_error');
        const delta = contentOf(chunk, 'delta');
        if (delta === undefined) throw upstreamError('upstream_garbage');
        if (!delta) continue;
        const piece = delta.slice(0, maxReply - length);
        length += piece.length;
        if (piece) yield piece;
        if (length >= maxReply) break;
      }
      if (!sawDone && length < maxReply) throw upstreamError('upstream_truncated');
    } catch (err) {
      throw failure(err, signal, timeout);
    } finally {
      await response.body?.cancel().catch(() => {});
    }
  }
}

function failure(err: unknown, caller: AbortSignal, timeout: AbortSignal): unknown {
  if (err instanceof GatehouseError) return err;
  // The caller went away (the browser closed the stream): not an upstream failure, pass it on.
  if (caller.aborted) return caller.reason;
  if (timeout.aborted) return upstreamError('upstream_timeout', err);
  return upstreamError('upstream_unreachable', err);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `choices[0].delta.content` (stream chunks) or `choices[0].message.content` (whole completions).
 * A chunk without content (the role-only first chunk, a finish chunk) yields ''; a shape that
 * is not a completion yields undefined.
 */
function contentOf(value: unknown, field: 'delta' | 'message'): string | undefined {
  if (!isObject(value) || !Array.isArray(value.choices)) return undefined;
  const choice: unknown = value.choices[0];
  if (choice === undefined) return '';
  if (!isObject(choice)) return undefined;
  const part = choice[field];
  if (part === undefined || part === null) return '';
  if (!isObject(part)) return undefined;
  const content = part.content;
  if (content === undefined || content === null) return '';
  return typeof content === 'string' ? content : undefined;
}

/** The `data` of each server-sent event (HTML Living Standard §9.2.6), multi-line data joined. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const MAX_BUFFER = 1024 * 1024;
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    if (buffer.length > MAX_BUFFER) throw upstreamError('upstream_garbage');
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
  }
  if (data.length > 0) yield data.join('\n');
}
