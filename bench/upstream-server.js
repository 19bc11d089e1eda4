/**
 * The upstream of the proxy rows: a node:http server that answers every request with a small
 * JSON body, kept alive — about the cheapest API there is, so the rows show what the proxy costs.
 * Prints `{"url": …}` once it listens.
 */
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true}');
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
