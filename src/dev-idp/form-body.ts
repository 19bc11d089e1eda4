/**
 * Reads a small `application/x-www-form-urlencoded` body from the raw request stream. The HTTP
 * layer hands `/dev-idp/*` requests over unparsed, so the sign-in form is parsed here, with a
 * size limit.
 */
import type { IncomingMessage } from 'node:http';

export type FormBodyResult =
  | { readonly ok: true; readonly form: URLSearchParams }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly closeConnection: boolean };

/** Past this many bytes the rest is not even drained: the connection is closed instead. */
const DRAIN_LIMIT = 1024 * 1024;

export function isFormUrlEncoded(contentType: string | undefined): boolean {
  const essence = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return essence === 'application/x-www-form-urlencoded';
}

/**
 * An oversized body is drained (up to 1 MiB) before answering 413, so that an HTTP client which
 * is still sending reads the 413 instead of a connection reset.
 */
export function readFormBody(req: IncomingMessage, limitBytes: number): Promise<FormBodyResult> {
  if (!isFormUrlEncoded(req.headers['content-type'])) {
    req.resume();
    return Promise.resolve({ ok: false, status: 415, closeConnection: false });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, closeConnection: true });
  }

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (result: FormBodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limitBytes) {
        chunks.push(chunk);
      } else if (received > DRAIN_LIMIT) {
        chunks.length = 0;
        req.pause();
        settle({ ok: false, status: 413, closeConnection: true });
      }
    });
    req.on('end', () => {
      if (received > limitBytes) {
        settle({ ok: false, status: 413, closeConnection: false });
        return;
      }
      // URLSearchParams applies the WHATWG urlencoded parser: `+` as space, percent-decoding,
      // invalid sequences replaced rather than thrown.
      settle({ ok: true, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
    });
    req.on('error', () => settle({ ok: false, status: 400, closeConnection: true }));
    req.on('aborted', () => settle({ ok: false, status: 400, closeConnection: true }));
  });
}
