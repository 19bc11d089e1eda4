/**
 * A real upstream for proxy-mode tests: a node:http server on loopback that records every
 * request it sees and answers by path —
 *
 *   /slow…        never answers (a hung upstream)
 *   /reset…       resets the connection
 *   /garbage…     answers with bytes that are not HTTP
 *   /set-cookie   sets Gatehouse's cookie names and one of its own
 *   /download?bytes=N   streams N bytes (64 KiB chunks, no Content-Length)
 *   /upload       consumes the body and answers its size and SHA-256
 *   /sse          text/event-stream, one event every 50 ms until the client goes
 *   anything else echoes method, url, headers and the body (as text)
 *
 * and accepts WebSockets (echo; the first message describes the handshake it received).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw header lines as received (names in their original case, duplicates kept). */
  readonly rawHeaders: readonly string[];
}

export interface EchoBody {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request that reached the upstream (HTTP and WebSocket handshakes). */
  readonly seen: SeenRequest[];
  /** Open server-side sockets of the WebSocket endpoint, and how each closed. */
  readonly sockets: { ws: WebSocket; closed?: { code: number } }[];
  /** SSE and download responses the client has gone away from. */
  readonly streamsEnded: { count: number };
  close(): Promise<void>;
}

function record(seen: SeenRequest[], req: IncomingMessage): void {
  seen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
  });
}

export async function startUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const sockets: TestUpstream['sockets'] = [];
  const streamsEnded = { count: 0 };
  const hanging = new Set<IncomingMessage>();
  const server: Server = createServer((req, res) => {
    record(seen, req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/slow')) {
      hanging.add(req);
      return;
    }
    if (path.startsWith('/reset')) {
      req.socket.destroy();
      return;
    }
    if (path.startsWith('/garbage')) {
      req.socket.end('SMTP ready\r\n\r\n');
      return;
    }
    if (path === '/set-cookie') {
      res.setHeader('set-cookie', [
        'gatehouse=planted; Path=/',
        '__Host-gatehouse=planted; Path=/; Secure',
        'GATEHOUSE=planted; Path=/',
        'gatehouse-tx-abc=planted; Path=/',
        'theirs=kept; Path=/',
      ]);
      res.end('cookies');
      return;
    }
    if (path === '/download') {
      const bytes = Number(new URL(req.url ?? '', 'http://x').searchParams.get('bytes') ?? '0');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let left = bytes;
      const pump = () => {
        while (left > 0) {
          const piece = chunk.subarray(0, Math.min(chunk.length, left));
          left -= piece.length;
          if (!res.write(piece)) return res.once('drain', pump);
        }
        res.end();
      };
      res.once('close', () => {
        if (left > 0 || !res.writableFinished) streamsEnded.count++;
      });
      pump();
      return;
    }
    if (path === '/upload') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ size, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (path === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.flushHeaders();
      let n = 0;
      const timer = setInterval(() => res.write(`data: ${n++}\n\n`), 50);
      res.once('close', () => {
        clearInterval(timer);
        streamsEnded.count++;
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body: EchoBody = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    });
  });
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat.v1') ? 'chat.v1' : false),
  });
  wss.on('connection', (ws, req) => {
    record(seen, req);
    const entry: TestUpstream['sockets'][number] = { ws };
    sockets.push(entry);
    ws.on('close', (code) => {
      entry.closed = { code };
    });
    ws.send(JSON.stringify({ url: req.url, headers: req.headers, protocol: ws.protocol }));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    sockets,
    streamsEnded,
    async close() {
      for (const { ws } of sockets) ws.terminate();
      for (const req of hanging) req.socket.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
