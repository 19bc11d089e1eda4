/** Migration-lock polling shared by the server dialects (see mysql.ts and postgres.ts). */
export interface MigrationLockOptions {
  readonly lockTable: string;
  readonly lockRowId: string;
  readonly lockTableSchema?: string;
}

/** How long an instance waits for another one's migrations before giving up. */
const LOCK_WAIT_MS = 10 * 60 * 1000;

/**
 * Tries `attempt` until it reports the lock taken. Each attempt is one short statement, so the
 * per-query deadline never fires while another instance migrates.
 */
export async function pollForLock(attempt: () => Promise<boolean>, waitMs = LOCK_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the migration lock');
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 100)));
  }
}
