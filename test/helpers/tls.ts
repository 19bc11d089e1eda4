/**
 * A throwaway self-signed TLS certificate for `localhost` / 127.0.0.1 (P-256, one day), made by
 * the openssl command line, for nginx in the deploy tests. Clients trust it by passing `cert` as
 * their CA. `dnsNames` adds host names to its subjectAltName (one certificate for several virtual
 * hosts, e.g. app.gatehouse.test and api.gatehouse.test).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** The certificate (PEM): pass as `ca` to clients. */
  readonly cert: string;
}

export function createCertificate(
  dir: string,
  options: { readonly dnsNames?: readonly string[] } = {},
): TestCertificate {
  for (const name of options.dnsNames ?? []) {
    if (!/^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$/i.test(name)) throw new TypeError(`not a DNS name: ${name}`);
  }
  const san = ['localhost', ...(options.dnsNames ?? [])].map((n) => `DNS:${n}`).join(',');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=${san},IP:127.0.0.1`,
      '-days',
      '1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8') };
}
