/**
 * Preloaded into the server under test (`node --require`): how long each GET /auth (the sign-in
 * callback) took on the server itself, from its request head being parsed to the last byte of its
 * response handed to the socket. The durations, in arrival order, are written as a JSON array to
 * BENCH_SERVER_TIMING_FILE when the process exits. Bench-side only: Gatehouse has no such hook.
 * CommonJS so that `--require` loads it before the server's own modules.
 */
'use strict';
const { subscribe } = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');

const out = process.env.BENCH_SERVER_TIMING_FILE;
if (out) {
  const started = new WeakMap();
  /** @type {number[]} */
  const durations = [];
  subscribe('http.server.request.start', (message) => {
    const { request } = /** @type {{ request: import('node:http').IncomingMessage }} */ (message);
    if (request.method === 'GET' && request.url?.startsWith('/auth?'))
      started.set(request, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const { request } = /** @type {{ request: import('node:http').IncomingMessage }} */ (message);
    const t0 = started.get(request);
    if (t0 !== undefined) durations.push(performance.now() - t0);
  });
  process.on('exit', () => writeFileSync(out, JSON.stringify(durations)));
}
