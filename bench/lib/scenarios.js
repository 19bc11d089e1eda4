/**
 * What each server is asked. The first scenario of every list is the bare route — GET /healthz,
 * which has no authentication but passes through the same Fastify instance, plugins and hooks
 * (request id, security headers, CORS, logging hook): the ceiling an authenticated route is held to.
 * Gatehouse has no benchmark-only route.
 */

/** @typedef {import('./load.js').Scenario} Scenario */
/** @typedef {import('./tokens.js').Tokens} Tokens */

/** @param {string} cookieName @param {string} token */
const cookie = (cookieName, token) => ({ cookie: `${cookieName}=${token}` });

/** @returns {Scenario} */
const bare = () => ({
  id: 'bare',
  label: 'GET /healthz — bare route (the ceiling)',
  path: '/healthz',
  expectStatus: 200,
});

/** @param {string} cookieName @param {Tokens} t @returns {Scenario} */
const renewal = (cookieName, t) => ({
  id: 'renewal',
  label: 'GET /chat, expired token → renewal (database)',
  path: '/chat',
  // Every request presents an expired token, so every request renews: one indexed read, one
  // write transaction, a fresh token signed. Tokens rotate over several sessions.
  headerSets: t.expired.map((token) => cookie(cookieName, token)),
  expectStatus: 200,
});

/** @param {string} cookieName @param {Tokens} t @returns {Scenario} */
const chatCookie = (cookieName, t) => ({
  id: 'chat_cookie',
  label: 'GET /chat, session cookie',
  path: '/chat',
  headers: cookie(cookieName, t.live),
  expectStatus: 200,
});

/** @param {string} cookieName @param {Tokens} t @returns {Scenario} */
const me = (cookieName, t) => ({
  id: 'me',
  label: 'GET /me (reads the user row)',
  path: '/me',
  headers: cookie(cookieName, t.live),
  expectStatus: 200,
});

/** @param {string} cookieName @param {Tokens} t @returns {Scenario} */
const revoked = (cookieName, t) => ({
  id: 'revoked',
  label: 'GET /chat, revoked session → 401',
  path: '/chat',
  headers: cookie(cookieName, t.revoked),
  expectStatus: 401,
});

/** @param {string} cookieName @param {Tokens} t @returns {Scenario[]} */
export function mainScenarios(cookieName, t) {
  return [
    bare(),
    chatCookie(cookieName, t),
    {
      id: 'chat_bearer',
      label: 'GET /chat, Authorization: Bearer',
      path: '/chat',
      headers: { authorization: `Bearer ${t.live}` },
      expectStatus: 200,
    },
    {
      id: 'verify',
      label: 'GET /auth/verify (nginx auth_request)',
      path: '/auth/verify',
      headers: cookie(cookieName, t.live),
      expectStatus: 200,
    },
    me(cookieName, t),
    { id: 'unauthenticated', label: 'GET /chat, no credentials → 401', path: '/chat', expectStatus: 401 },
    revoked(cookieName, t),
    {
      id: 'forged',
      label: 'GET /chat, forged signature → 401',
      path: '/chat',
      headers: cookie(cookieName, t.forged),
      expectStatus: 401,
    },
    renewal(cookieName, t),
  ];
}

/** @param {string} cookieName @param {Tokens} t @returns {Scenario[]} */
export function largeStoreScenarios(cookieName, t) {
  return [bare(), chatCookie(cookieName, t), revoked(cookieName, t), renewal(cookieName, t)];
}

/** @param {string} cookieName @param {Tokens} t @returns {Scenario[]} */
export function databaseScenarios(cookieName, t) {
  return [bare(), chatCookie(cookieName, t), me(cookieName, t), renewal(cookieName, t)];
}
