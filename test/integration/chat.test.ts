/**
 * The per-user chat over real HTTP with the built-in (echo) responder: validation, cursor
 * pagination, streaming with server-sent events, and that no route lets user A read user B's
 * messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserAgent } from '../helpers/browser.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { parseEventStream } from '../helpers/openai-stand-in.js';
import { signInThroughDevIdp } from '../helpers/sign-in.js';

interface Message {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  created_at: string;
}

async function signIn(gh: TestGatehouse, email: string, name: string): Promise<BrowserAgent> {
  const { browser } = await signInThroughDevIdp(gh.url, { email, name, cookieName: gh.config.cookie.name });
  expect((await browser.get(`${gh.url}/me`)).status).toBe(200);
  return browser;
}

describe('chat API (echo responder)', () => {
  let gh: TestGatehouse;
  let ada: BrowserAgent;
  let bob: BrowserAgent;
  const post = (agent: BrowserAgent, body: unknown, headers: Record<string, string> = {}) =>
    agent.post(`${gh.url}/chat`, JSON.stringify(body), {
      headers: { 'content-type': 'application/json', origin: gh.url, ...headers },
    });
  const me = async (agent: BrowserAgent) =>
    (await (await agent.get(`${gh.url}/me`)).json()) as { id: string };

  beforeAll(async () => {
    gh = await startGatehouse({ env: { CHAT_MAX_MESSAGE_LENGTH: '50' } });
    ada = await signIn(gh, 'ada@example.com', 'Ada');
    bob = await signIn(gh, 'bob@example.com', 'Bob');
  });

  afterAll(async () => {
    await gh?.close();
  });

  it('answers with the stored message and a reply that names the user and counts', async () => {
    const first = await post(ada, { message: '  hello  ' });
    expect(first.status).toBe(200);
    const body = (await first.json()) as { message: Message; reply: Message };
    expect(body.message).toMatchObject({ role: 'user', content: 'hello' });
    expect(body.reply.role).toBe('assistant');
    expect(body.reply.content).toBe('Hello Ada! You said: "hello" (message #1).');
    expect(body.reply.id).toBeGreaterThan(body.message.id);

    const second = (await (await post(ada, { message: 'again' })).json()) as { reply: Message };
    expect(second.reply.content).toContain('(message #2)');
  });

  it.each([
    ['empty', { message: '' }],
    ['blank', { message: '   \n ' }],
    ['too long', { message: 'x'.repeat(51) }],
    ['not a string', { message: 42 }],
    ['missing', {}],
    ['extra field', { message: 'hi', user_id: 'someone-else' }],
  ])('rejects a %s message with 400 validation_failed and stores nothing', async (_label, payload) => {
    const before = await gh.gatehouse.store.chat.count((await me(bob)).id);
    const response = await post(bob, payload);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe('validation_failed');
    expect(await gh.gatehouse.store.chat.count((await me(bob)).id)).toBe(before);
  });

  it('refuses anonymous callers with a JSON 401, never a redirect', async () => {
    const response = await fetch(`${gh.url}/chat/messages`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('not_authenticated');
    const sent = await fetch(`${gh.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"hi"}',
    });
    expect(sent.status).toBe(401);
  });

  it('pages through history newest first with a cursor, to the end', async () => {
    const carol = await signIn(gh, 'carol@example.com', 'Carol');
    for (let i = 1; i <= 5; i++) expect((await post(carol, { message: `m${i}` })).status).toBe(200);
    const seen: Message[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? 'limit=4' : `limit=4&before=${cursor}`;
      const response = await carol.get(`${gh.url}/chat/messages?${query}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as { messages: Message[]; next_cursor: number | null };
      seen.push(...page.messages);
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(10);
    const ids = seen.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(seen.at(-1)).toMatchObject({ role: 'user', content: 'm1' });
    expect(seen[0]).toMatchObject({ role: 'assistant' });
    expect(seen[0]!.content).toContain('"m5"');

    const bad = await carol.get(`${gh.url}/chat/messages?limit=1000`);
    expect(bad.status).toBe(400);
  });

  it("never shows user A's messages to user B, by any route or parameter", async () => {
    await post(ada, { message: 'ada-secret-note' });
    const adaPage = (await (await ada.get(`${gh.url}/chat/messages?limit=100`)).json()) as {
      messages: Message[];
    };
    const adaIds = adaPage.messages.map((m) => m.id);
    expect(adaPage.messages.some((m) => m.content === 'ada-secret-note')).toBe(true);

    // Bob's own history, with a cursor just past Ada's newest message, and with smuggled parameters.
    const cursorPastAda = Math.max(...adaIds) + 1;
    const attempts = [
      `${gh.url}/chat/messages?limit=100`,
      `${gh.url}/chat/messages?limit=100&before=${cursorPastAda}`,
    ];
    for (const url of attempts) {
      const response = await bob.get(url);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain('ada-secret-note');
      const page = JSON.parse(text) as { messages: Message[] };
      expect(page.messages.every((m) => !adaIds.includes(m.id))).toBe(true);
    }
    const adaId = (await me(ada)).id;
    for (const url of [
      `${gh.url}/chat/messages?user_id=${adaId}`,
      `${gh.url}/chat/messages?user=${adaId}`,
      `${gh.url}/chat/messages/${adaIds[0]}`,
      `${gh.url}/chat/${adaId}`,
    ]) {
      const response = await bob.get(url);
      expect([400, 404]).toContain(response.status);
      expect(await response.text()).not.toContain('ada-secret-note');
    }
    // Bob's own sent message does not land in Ada's history either.
    await post(bob, { message: 'bob-only' });
    const adaAgain = await (await ada.get(`${gh.url}/chat/messages?limit=100`)).text();
    expect(adaAgain).not.toContain('bob-only');
  });

  it('streams the reply as server-sent events: token deltas, then done with the stored messages', async () => {
    const dora = await signIn(gh, 'dora@example.com', 'Dora');
    const response = await post(dora, { message: 'stream me' }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const events = parseEventStream(await response.text());
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { delta: string }).delta);
    expect(tokens.length).toBeGreaterThan(1);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    const { message, reply } = done.data as { message: Message; reply: Message };
    expect(message.content).toBe('stream me');
    expect(tokens.join('')).toBe(reply.content);
    expect(reply.content).toBe('Hello Dora! You said: "stream me" (message #1).');

    const history = (await (await dora.get(`${gh.url}/chat/messages`)).json()) as { messages: Message[] };
    expect(history.messages.map((m) => m.id)).toEqual([reply.id, message.id]);
  });

  it('refuses a cross-site POST /chat with the cookie (CSRF)', async () => {
    const response = await post(ada, { message: 'forged' }, { origin: 'http://evil.example' });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe('csrf_rejected');
  });
});
