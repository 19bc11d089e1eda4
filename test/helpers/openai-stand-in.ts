/**
 * A small local stand-in for an OpenAI-compatible Chat Completions server
 * (`POST /v1/chat/completions`), so the OpenAI responder is tested over real HTTP without the
 * network. `behaviour` switches how it answers; every request it received is recorded.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInBehaviour =
  /** Streams the reply in chunks, then `data: [DONE]`. */
  | 'stream'
  /** Ignores `stream: true` and answers with one JSON completion. */
  | 'json'
  /** 500 with a body that must never reach the client. */
  | 'error'
  /** 200 text/event-stream whose data is not JSON. */
  | 'garbage'
  /** Sends headers and one chunk, then nothing: the caller's timeout must end it. */
  | 'hang'
  /** Streams one chunk and closes the connection without `[DONE]`. */
  | 'truncated';

export interface StandInRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: {
    model?: string;
    stream?: boolean;
    messages?: { role: string; content: string }[];
  };
}

export interface OpenAiStandIn {
  /** The base URL to use as CHAT_API_URL (ends in `/v1`). */
  readonly url: string;
  readonly requests: StandInRequest[];
  behaviour: StandInBehaviour;
  /** The reply for a user message (default: "Model says: " + the last user message). */
  replyFor: (message: string) => string;
  close(): Promise<void>;
}

/** A body that a leaky implementation would pass on to the client. */
export const UPSTREAM_SECRET_BODY = 'upstream-internal-detail: db=10.0.0.7 key=sk-leak';

export async function startOpenAiStandIn(): Promise<OpenAiStandIn> {
  const requests: StandInRequest[] = [];
  const state: OpenAiStandIn = {
    url: '',
    requests,
    behaviour: 'stream',
    replyFor: (message) => `Model says: ${message}`,
    close: async () => {},
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: StandInRequest['body'] = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as StandInRequest['body'];
      } catch {
        // recorded as {}; the test's assertions on the body will say what went wrong
      }
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const last = body.messages?.at(-1)?.content ?? '';
      const text = state.replyFor(last);
      const chunk = (content: string) =>
        `data: ${JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion.chunk',
          model: body.model,
          choices: [{ index: 0, delta: { content }, finish_reason: null }],
        })}\n\n`;
      switch (state.behaviour) {
        case 'stream': {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(
            `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant' } }] })}\n\n`,
          );
          for (let i = 0; i < text.length; i += 5) res.write(chunk(text.slice(i, i + 5)));
          res.end('data: [DONE]\n\n');
          return;
        }
        case 'json':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              object: 'chat.completion',
              choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
            }),
          );
          return;
        case 'error':
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(UPSTREAM_SECRET_BODY);
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(`data: <html>${UPSTREAM_SECRET_BODY}</html>\n\n`);
          return;
        case 'hang':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(chunk('Thinking'));
          return;
        case 'truncated':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(chunk('Half a rep'));
          res.destroy();
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return state;
}

export interface ServerSentEvent {
  readonly event: string;
  readonly data: unknown;
}

/** Parses a whole `text/event-stream` body (Gatehouse's own, in tests) into events with JSON data. */
export function parseEventStream(text: string): ServerSentEvent[] {
  return text
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      return { event, data: JSON.parse(data.join('\n')) as unknown };
    });
}
