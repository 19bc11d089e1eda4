/**
 * `gatehouse dev id-token`: a Google-shaped ID token from the running server's development
 * provider (`{PUBLIC_URL}/dev-idp/id-token`), for trying `POST /auth/google` offline from a
 * shell, a native app under development or the examples/cli client. Development only: refused
 * when the configuration is for production or names a real provider.
 */
import { parse, UsageError } from './args.js';
import { CliFailure, loadCliConfig, run } from './context.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const DEV_USAGE = `Usage:
  gatehouse dev id-token --email EMAIL [--aud CLIENT_ID] [--name NAME] [--nonce NONCE] [--url URL]

Prints an ID token minted by the development provider of the server at --url (default
PUBLIC_URL), for any audience (default GOOGLE_CLIENT_ID's development value). Only while the
development provider runs: never in production.

Options:
  --email EMAIL   whose token (any address)
  --aud ID        the audience (client id)
  --name NAME     the name claim
  --nonce NONCE   a nonce from GET /auth/nonce
  --url URL       the server (default PUBLIC_URL)
  --json          {"id_token": …} on stdout
  -h, --help      this help
`;

const OPTIONS = {
  email: { type: 'string' },
  aud: { type: 'string' },
  name: { type: 'string' },
  nonce: { type: 'string' },
  url: { type: 'string' },
} as const;

export async function dev(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, DEV_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(DEV_USAGE);
      return EXIT.ok;
    }
    const [action, ...extra] = positionals;
    if (action !== 'id-token')
      throw new UsageError(action === undefined ? 'missing action' : `unknown action: ${action}`);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    if (values.email === undefined) throw new UsageError('--email is required');
    const config = loadCliConfig(out);
    if (config.production || !config.oidc.devProvider) {
      throw new CliFailure(
        'the development provider is not in use (production, or real provider credentials are set): it mints no tokens',
      );
    }
    const base = values.url ?? config.publicUrl;
    const mountPath = new URL(config.oidc.issuer).pathname.replace(/\/$/, '');
    const target = new URL(`${mountPath}/id-token`, base);
    target.searchParams.set('email', values.email);
    target.searchParams.set('aud', values.aud ?? config.oidc.clientId);
    if (values.name !== undefined) target.searchParams.set('name', values.name);
    if (values.nonce !== undefined) target.searchParams.set('nonce', values.nonce);
    let response: Response;
    try {
      response = await fetch(target, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new CliFailure(
        `cannot reach ${target.origin}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      id_token?: unknown;
      error_description?: unknown;
    };
    if (!response.ok || typeof body.id_token !== 'string') {
      throw new CliFailure(
        `the development provider refused: ${typeof body.error_description === 'string' ? body.error_description : `HTTP ${response.status}`}`,
      );
    }
    out.data({ id_token: body.id_token });
    out.line(body.id_token);
    return EXIT.ok;
  });
}
