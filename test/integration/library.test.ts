/**
 * Using Gatehouse as a library: the README's "Protecting your own routes" works as written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, type Gatehouse, loadConfig } from '../../src/index.js';
import { identityForTest } from '../helpers/identity.js';
import { freePort } from '../helpers/ports.js';

describe('library use: your own route behind requireUser', () => {
  let gh: Gatehouse;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { config } = loadConfig({
      env: {
        NODE_ENV: 'test',
        PORT: String(port),
        PUBLIC_URL: url,
        DATABASE_URL: 'sqlite::memory:',
        LOG_LEVEL: 'silent',
      },
      dotenv: false,
    });
    gh = await createGatehouse(config, { logger: createLogger(config), purge: false });
    gh.app.get('/reports', { preHandler: gh.app.requireUser }, async (request) => ({
      owner: request.user?.email,
    }));
    await gh.app.listen({ host: '127.0.0.1', port });
  });
  afterAll(async () => gh?.close());

  it('answers 401 without a session and the user with one', async () => {
    const anonymous = await fetch(`${url}/reports`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('not_authenticated');

    // A session as a sign-in leaves it: through the one sign-in service.
    const { token } = await gh.sessions.signIn(
      identityForTest({
        issuer: 'https://issuer.example',
        subject: 'lib-1',
        email: 'lib@example.com',
        emailVerified: true,
        name: 'Lib',
        picture: null,
        hostedDomain: null,
      }),
      { ip: '127.0.0.1', userAgent: 'test' },
    );
    const mine = await fetch(`${url}/reports`, { headers: { authorization: `Bearer ${token.token}` } });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toEqual({ owner: 'lib@example.com' });
  });
});

describe('library use: the sample chat is opt-in', () => {
  it('has no /chat routes unless asked for, and has them with chat: true', async () => {
    const { config } = loadConfig({
      env: { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' },
      dotenv: false,
    });
    for (const chat of [false, true]) {
      const gh = await createGatehouse(config, { logger: createLogger(config), purge: false, chat });
      try {
        const routes = ['/chat', '/chat/messages'].map((url) => gh.app.hasRoute({ method: 'GET', url }));
        expect(routes).toEqual([chat, chat]);
        // Unauthenticated: 401 where the route exists, 404 where it does not.
        const answer = await gh.app.inject({ method: 'GET', url: '/chat' });
        expect(answer.statusCode).toBe(chat ? 401 : 404);
      } finally {
        await gh.close();
      }
    }
  });
});
