/**
 * Our delta-lease host name. sanlock makes a new random one at every daemon start, so a restarted
 * sanlock must wait host_dead_seconds for its own old lease. leasehold generates one once, keeps it
 * in the state database and reuses it: the restarted daemon's acquire then takes sanlock's "fast
 * reacquire" path (2 x io_timeout). Unique per host as long as the state directory is not copied.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NAME_LENGTH_BYTES } from '@leasehold/ondisk';
import type { StateDb } from './state/state-db.js';

const HOST_NAME_KEY = 'host_name';

/** `<uuid>.<nodename>`, cut to 48 bytes, like sanlock's default. */
export function generateHostName(): string {
  const name = `${randomUUID()}.${hostname()}`;
  return Buffer.from(name, 'utf8')
    .subarray(0, NAME_LENGTH_BYTES)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

export function persistentHostName(db: StateDb, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const stored = db.getMeta(HOST_NAME_KEY);
  if (stored !== undefined && stored !== '') return stored;
  const created = generateHostName();
  db.setMeta(HOST_NAME_KEY, created);
  return created;
}
