/**
 * The local OpenID provider of the benchmark, in its own process (so the provider, the server
 * under test and the load generator never share one event loop): the development provider from
 * dist/dev-idp, mounted at the root of a loopback port.
 *
 * argv: CLIENT_ID CLIENT_SECRET REDIRECT_URI[,REDIRECT_URI…]
 * Prints one JSON line `{"issuer":"http://127.0.0.1:PORT"}` on stdout once it listens.
 * GET /__bench/provider-time answers the ms spent serving requests since the last such call.
 */
import { createServer } from 'node:http';
import { createDevIdp } from '../dist/dev-idp/index.js';

const [clientId, clientSecret, redirects] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirects) {
  process.stderr.write('usage: node bench/idp-server.js CLIENT_ID CLIENT_SECRET REDIRECT_URI[,…]\n');
  process.exit(64);
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const issuer = `http://127.0.0.1:${port}`;
const idp = await createDevIdp({ issuer, clientId, clientSecret, redirectUris: redirects.split(',') });
// The bench asks how long the provider itself spent answering since it last asked, so that the
// callback's own time can be told apart from the provider's (token and userinfo endpoints).
// A bench-side wrapper: the provider (src/dev-idp) has no such route.
let busyMs = 0;
server.on('request', (req, res) => {
  if (req.url === '/__bench/provider-time') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ms: busyMs }));
    busyMs = 0;
    return;
  }
  const t0 = performance.now();
  res.once('finish', () => {
    busyMs += performance.now() - t0;
  });
  idp.handle(req, res);
});
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

const stop = () => {
  void idp.close().finally(() => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
