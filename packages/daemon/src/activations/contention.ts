/**
 * A refused activation names who holds the LV: LEASE_HELD carries `ownerId` and `mode`,
 * SHARED_HOLDERS `hostIds`, taken from the lease layer's holder facts, so a command can look the
 * hosts up (name, liveness) and say who they are.
 */
import { DaemonError } from '@leasehold/protocol';

interface HolderFact {
  hostId?: unknown;
  mode?: unknown;
}

function holdersOf(details: Record<string, unknown> | undefined): HolderFact[] {
  const holders = details?.['holders'];
  if (!Array.isArray(holders)) return [];
  return holders.filter((h): h is HolderFact => typeof h === 'object' && h !== null);
}

function hostIdOf(holder: HolderFact): number | undefined {
  const raw = holder.hostId;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(raw);
  return undefined;
}

/** The same error with the holders' host_ids (and the exclusive owner's mode) in its details. */
export function withHolderIds(error: unknown): unknown {
  if (!(error instanceof DaemonError)) return error;
  const holders = holdersOf(error.details);
  if (holders.length === 0) return error;
  const code = error.code === 'TIMEOUT' ? error.details?.['lastCode'] : error.code;
  const hostIds = holders.map(hostIdOf).filter((id): id is number => id !== undefined);
  const first = holders[0];
  const extra =
    code === 'SHARED_HOLDERS'
      ? { hostIds }
      : {
          ...(hostIds[0] === undefined ? {} : { ownerId: hostIds[0] }),
          mode: first?.mode === 'shared' ? 'SH' : 'EX',
        };
  return new DaemonError(error.code, error.message, { ...(error.details ?? {}), ...extra });
}
