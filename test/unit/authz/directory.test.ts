/** The Directory client against the stand-in: the service-account grant, reads, paging, failures. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryClient, DirectoryError, loadServiceAccountKey } from '../../../src/authz/directory.js';
import { systemClock } from '../../../src/core/clock.js';
import { type DirectoryStandIn, startDirectoryStandIn } from '../../helpers/directory-stand-in.js';

describe('DirectoryClient', () => {
  let standIn: DirectoryStandIn;
  let client: DirectoryClient;

  beforeAll(async () => {
    standIn = await startDirectoryStandIn();
    client = new DirectoryClient({
      key: await loadServiceAccountKey(standIn.keyFile),
      adminEmail: standIn.adminEmail,
      baseUrl: standIn.url,
      clock: systemClock,
      timeoutMs: 2000,
    });
  });
  afterAll(async () => standIn?.close());

  it('grants at the key file token_uri once, and reads status and every page of groups', async () => {
    const groups = Array.from({ length: 130 }, (_, i) => `Team-${i}@Example.com`);
    standIn.setUser('ann@example.com', groups);
    standIn.pageSize = 50;
    const answer = await client.lookup('ann@example.com');
    expect(answer.status).toBe('active');
    expect(answer.status === 'active' && answer.groups).toEqual(groups.map((g) => g.toLowerCase()).sort());
    expect(standIn.counts.groups).toBe(3);
    await client.lookup('ann@example.com');
    expect(standIn.counts.token).toBe(1);
  });

  it('reports suspended and deleted (404) accounts', async () => {
    standIn.setUser('sus@example.com', ['g@example.com'], true);
    expect(await client.lookup('sus@example.com')).toEqual({ status: 'suspended' });
    expect(await client.lookup('nobody@example.com')).toEqual({ status: 'deleted' });
  });

  it('turns errors and timeouts into DirectoryError', async () => {
    standIn.failWith = 500;
    await expect(client.lookup('ann@example.com')).rejects.toMatchObject({ reason: 'http_500' });
    standIn.failWith = 403;
    await expect(client.lookup('ann@example.com')).rejects.toBeInstanceOf(DirectoryError);
    standIn.failWith = null;
    standIn.delayMs = 500;
    const impatient = new DirectoryClient({
      key: await loadServiceAccountKey(standIn.keyFile),
      adminEmail: standIn.adminEmail,
      baseUrl: standIn.url,
      clock: systemClock,
      timeoutMs: 100,
    });
    await expect(impatient.lookup('ann@example.com')).rejects.toMatchObject({ reason: 'timeout' });
    standIn.delayMs = 0;
  });

  it('is refused a grant for another admin (the stand-in checks sub, aud, iss, scopes and signature)', async () => {
    const wrong = new DirectoryClient({
      key: await loadServiceAccountKey(standIn.keyFile),
      adminEmail: 'someone-else@example.com',
      baseUrl: standIn.url,
      clock: systemClock,
    });
    const before = standIn.counts.refusedGrants;
    await expect(wrong.lookup('ann@example.com')).rejects.toMatchObject({ reason: 'grant_refused' });
    expect(standIn.counts.refusedGrants).toBe(before + 1);
  });

  it('refuses a key file that is not a service account key', async () => {
    await expect(loadServiceAccountKey('/nonexistent/key.json')).rejects.toThrow(/cannot read/);
  });
});
