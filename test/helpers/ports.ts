import { createServer } from 'node:net';

/**
 * Ports handed out come from below the kernel's ephemeral range (Linux: 32768–60999 by default),
 * so a later `listen(0)` — the provider, an upstream, another suite's server — can never be given
 * the same port between this check and the moment the caller binds it. (A port taken with
 * `listen(0)` and released was free again for exactly that: nginx then failed to bind, and the
 * test spoke TLS to someone else's plain HTTP server.)
 */
const FIRST = 20_000;
const LAST = 32_767;
const handedOut = new Set<number>();

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago (for servers whose URL must be known before they listen). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${FIRST} and ${LAST}`);
}
