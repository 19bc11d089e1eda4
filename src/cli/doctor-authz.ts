/**
 * `gatehouse doctor`'s authorization checks (docs/authorization.md): the access rules file (its
 * rule count; errors stop the configuration earlier, with line and field), and with
 * GOOGLE_GROUPS=directory the key file, the domain-wide delegation (a real token grant at the key
 * file's token_uri) and a sample lookup (the admin's own groups).
 */
import { DirectoryClient, DirectoryError, loadServiceAccountKey } from '../authz/directory.js';
import type { Config } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import type { Check } from './doctor-checks.js';

const GROUP = 'Authorization';

export function rulesChecks(config: Config, checks: Check[]): void {
  const file = config.authz.accessRulesFile;
  if (file === undefined) {
    checks.push({
      group: GROUP,
      status: 'info',
      message: 'no ACCESS_RULES_FILE: any signed-in user may call any route',
    });
  } else {
    const n = config.authz.accessRules?.length ?? 0;
    checks.push({
      group: GROUP,
      status: 'ok',
      message: `${file}: ${n} access rule(s); try \`gatehouse rules explain GET /path\``,
    });
  }
  if (config.authz.bootstrapAdmins.length > 0) {
    checks.push({
      group: GROUP,
      status: 'info',
      message: `BOOTSTRAP_ADMINS get admin at sign-in: ${config.authz.bootstrapAdmins.join(', ')}`,
    });
  }
}

export async function directoryChecks(config: Config, checks: Check[]): Promise<void> {
  const directory = config.authz.directory;
  if (directory === undefined) return;
  const add = (status: Check['status'], message: string) => checks.push({ group: GROUP, status, message });
  let client: DirectoryClient;
  try {
    const key = await loadServiceAccountKey(directory.serviceAccountFile);
    add('ok', `service account key ${key.clientEmail} (token_uri ${key.tokenUri})`);
    client = new DirectoryClient({
      key,
      adminEmail: directory.adminEmail,
      baseUrl: directory.baseUrl,
      clock: systemClock,
    });
  } catch (err) {
    add('error', `GOOGLE_SERVICE_ACCOUNT_FILE: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  try {
    await client.accessToken();
    add('ok', `domain-wide delegation: a token was granted for ${directory.adminEmail}`);
  } catch (err) {
    add(
      'error',
      `domain-wide delegation: ${err instanceof Error ? err.message : String(err)} — check the client ID and both scopes in the Admin console (docs/authorization.md)`,
    );
    return;
  }
  try {
    const answer = await client.lookup(directory.adminEmail);
    if (answer.status === 'active') {
      add('ok', `sample lookup: ${directory.adminEmail} is active and in ${answer.groups.length} group(s)`);
    } else add('warn', `sample lookup: ${directory.adminEmail} is ${answer.status} in the Directory`);
  } catch (err) {
    const why = err instanceof DirectoryError ? err.message : String(err);
    add(
      'error',
      `sample lookup of ${directory.adminEmail} failed: ${why} — is the Admin SDK API enabled in the project?`,
    );
  }
}
