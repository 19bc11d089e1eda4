/**
 * POST /chat with the OpenAI-compatible responder (CHAT_API_URL, CHAT_API_KEY, CHAT_MODEL set),
 * against a local stand-in server: the request upstream, streaming to the caller, and every kind
 * of upstream failure ending as a clean 502 `upstream_error` (or an `error` event) that leaks
 * neither the upstream's body nor the API key, and stores nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import {
  type OpenAiStandIn,
  parseEventStream,
  startOpenAiStandIn,
  UPSTREAM_SECRET_BODY,
} from '../helpers/openai-stand-in.js';

const API_KEY = 'sk-test-key-that-must-never-leak-0123456789';

describe('chat with an OpenAI-compatible upstream', () => {
  let upstream: OpenAiStandIn;
  let gh: TestGatehouse;
  let ada: BrowserAgent;
  let adaId: string;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    ada.post(`${gh.url}/chat`, JSON.stringify(body), {
      headers: { 'content-type': 'application/json', origin: gh.url, ...headers },
    });

  beforeAll(async () => {
    upstream = await startOpenAiStandIn();
    gh = await startGatehouse({
      env: {
        // A query string on the base URL is kept (some gateways need an api-version).
        CHAT_API_URL: `${upstream.url}?api-version=1`,
        CHAT_API_KEY: API_KEY,
        CHAT_MODEL: 'stand-in-model',
        CHAT_TIMEOUT: '1',
      },
    });
    ada = createBrowser();
    const login = await ada.get(`${gh.url}/login`);
    const { callbackUrl, initiator } = await signInAtDevIdp(ada, login.headers.get('location')!, {
      email: 'ada@example.com',
      name: 'Ada',
    });
    await ada.navigate(callbackUrl, { initiator });
    adaId = ((await (await ada.get(`${gh.url}/me`)).json()) as { id: string }).id;
  });

  afterAll(async () => {
    await gh?.close();
    await upstream?.close();
  });

  beforeEach(() => {
    upstream.behaviour = 'stream';
    upstream.requests.length = 0;
  });

  it('sends model, key, stream:true and the conversation; returns the streamed reply as JSON', async () => {
    const first = await post({ message: 'first question' });
    expect(first.status).toBe(200);
    const body = (await first.json()) as { reply: { content: string } };
    expect(body.reply.content).toBe('Model says: first question');

    await post({ message: 'second question' });
    const request = upstream.requests.at(-1)!;
    expect(request.path).toBe('/v1/chat/completions?api-version=1');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.model).toBe('stand-in-model');
    expect(request.body.stream).toBe(true);
    const messages = request.body.messages!;
    expect(messages[0]?.role).toBe('system');
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'Model says: first question' },
      { role: 'user', content: 'second question' },
    ]);
  });

  it('relays the upstream chunks to the browser as token events', async () => {
    upstream.replyFor = () => 'A fairly long answer, streamed in small pieces.';
    const response = await post({ message: 'stream please' }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    const events = parseEventStream(await response.text());
    const tokens = events.filter((e) => e.event === 'token');
    expect(tokens.length).toBeGreaterThanOrEqual(9);
    expect(tokens.map((e) => (e.data as { delta: string }).delta).join('')).toBe(
      'A fairly long answer, streamed in small pieces.',
    );
    expect(events.at(-1)?.event).toBe('done');
    upstream.replyFor = (m) => `Model says: ${m}`;
  });

  it('accepts a server that ignores stream:true and answers with one JSON completion', async () => {
    upstream.behaviour = 'json';
    const response = await post({ message: 'json please' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { reply: { content: string } }).reply.content).toBe(
      'Model says: json please',
    );
  });

  it.each(['error', 'garbage', 'hang', 'truncated'] as const)(
    'turns an upstream %s into a clean 502 upstream_error, stores nothing, leaks nothing',
    async (behaviour) => {
      upstream.behaviour = behaviour;
      const before = await gh.gatehouse.store.chat.count(adaId);
      const started = Date.now();
      const response = await post({ message: `will fail (${behaviour})` });
      expect(response.status).toBe(502);
      const text = await response.text();
      const problem = JSON.parse(text) as { code: string; detail: string };
      expect(problem.code).toBe('upstream_error');
      expect(text).not.toContain('upstream-internal-detail');
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('127.0.0.1');
      expect(await gh.gatehouse.store.chat.count(adaId)).toBe(before);
      // The timeout is CHAT_TIMEOUT (1 s): a hanging upstream ends near it, not at a default.
      if (behaviour === 'hang') expect(Date.now() - started).toBeLessThan(5000);
      const logged = JSON.stringify(gh.logs);
      expect(logged).not.toContain(API_KEY);
      expect(logged).not.toContain(UPSTREAM_SECRET_BODY);
    },
  );

  it('reports an upstream failure during a stream as an error event with the problem code', async () => {
    upstream.behaviour = 'truncated';
    const response = await post({ message: 'stream then fail' }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    const events = parseEventStream(await response.text());
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(events.some((e) => e.event === 'done')).toBe(false);
  });

  it('keeps serving after failures', async () => {
    const response = await post({ message: 'still there?' });
    expect(response.status).toBe(200);
  });
});
