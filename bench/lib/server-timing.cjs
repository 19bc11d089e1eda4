/**
 * Preloaded into the server under test (`node --require`): how long each GET /auth (the sign-in
 * callback) took on the server itself, from its request head being parsed to the last byte of its
 * response handed to the socket. On SIGUSR2 it stops listening (so the load phases that follow
 * pay nothing for it) and writes the durations, in arrival order, as a JSON array to
 * BENCH_SERVER_TIMING_FILE. Bench-side only: Gatehouse has no such hook.
 * CommonJS so that `--require` loads it before the server's own modules.
 */
'use strict';
const { subscribe, unsubscribe } = require('node:diagnostics_channel');
const { renameSync, writeFileSync } = require('node:fs');

const out = process.env.BENCH_SERVER_TIMING_FILE;
if (out) {
  const started = new WeakMap();
  /** @type {number[]} */
  const durations = [];
  /** @param {unknown} message */
  const onStart = (message) => {
    const { request } = /** @type {{ request: import('node:http').IncomingMessage }} */ (message);
    if (request.method === 'GET' && request.url?.startsWith('/auth?'))
      started.set(request, performance.now());
  };
  /** @param {unknown} message */
  const onFinish = (message) => {
    const { request } = /** @type {{ request: import('node:http').IncomingMessage }} */ (message);
    const t0 = started.get(request);
    if (t0 !== undefined) durations.push(performance.now() - t0);
  };
  subscribe('http.server.request.start', onStart);
  subscribe('http.server.response.finish', onFinish);
  process.once('SIGUSR2', () => {
    unsubscribe('http.server.request.start', onStart);
    unsubscribe('http.server.response.finish', onFinish);
    // Written whole, then renamed: the bench never reads half a file.
    writeFileSync(`${out}.tmp`, JSON.stringify(durations));
    renameSync(`${out}.tmp`, out);
  });
}
