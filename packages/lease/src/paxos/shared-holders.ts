/**
 * §5.4: after committing an exclusive hold (acquire or SH→EX), every host whose SHARED mode block
 * the phase-1 read showed is looked at again:
 *   - re-read its sector (1 sector); no longer SHARED → it let go meanwhile;
 *   - alive (by our host table, on our clock) → it still holds: the caller backs off with EAGAIN;
 *   - provably dead → its whole sector is zeroed (§7.6: the one case where we write another host's
 *     sector) and it no longer counts.
 * Alive, as sanlock's host_live: no data about it; not checked yet; or a change seen within
 * host_dead_seconds (of ITS io_timeout). Not alive: its delta lease is free; its delta generation is
 * newer than the mode block's; or no change for more than host_dead_seconds since first_check /
 * last_live. One stricter rule: a mode block NEWER than the generation our table knows means our
 * table is behind, so the holder counts as alive.
 * "No change for more than host_dead_seconds" is the PROVEN silence (§3, host-table.ts
 * provenSilenceSeconds): from last_live (or first_check) to the moment our latest sample's read was
 * issued, never to now. sanlock's `now - last_live` also counts the time since our last sample, in
 * which nothing was looked at: if our own renewals (which do the sampling) stalled on hung I/O, or
 * we were paused, a holder that kept renewing all along would be zeroed while alive, and an
 * exclusive grant would then coexist with a live shared one.
 */
import type { HostStatus } from '../delta/api.js';
import { effectiveIoTimeoutSeconds } from '../delta/config.js';
import { provenSilenceSeconds } from '../delta/host-table.js';
import type { Logger } from '../logger.js';
import { hostDeadSeconds } from '../timeouts.js';
import type { LeaseHolder } from './errors.js';
import { holderFacts } from './holder-facts.js';
import { isShared, readHostSector, zeroHostSector } from './host-sector.js';
import { requireJoined, type OurIdentity } from './identity.js';
import type { LeaseArea } from './lease-area.js';
import type { PaxosContext } from './types.js';

export interface SharedLiveness {
  live: boolean;
  reason: string;
}

/**
 * §5.4 alive / not alive, from our host table only (no I/O, no clock: the table's latest sample is
 * the evidence, and its age does not count as silence).
 */
export function sharedHolderLiveness(
  status: HostStatus | undefined,
  modeGeneration: bigint,
  ourIoTimeoutSeconds: number,
  watchdogFireTimeoutSeconds: number,
): SharedLiveness {
  if (status === undefined) return { live: true, reason: 'no data about the host' };
  if (status.lastCheckSeconds === undefined) return { live: true, reason: 'not checked yet' };
  if (status.timestamp === 0n) return { live: false, reason: 'its delta lease is free' };
  if (status.generation > modeGeneration)
    return { live: false, reason: `its delta lease has a newer generation ${status.generation}` };
  if (status.generation < modeGeneration)
    return { live: true, reason: `our host table still shows generation ${status.generation}` };
  // host_dead_seconds of the HOLDER's io_timeout (§3: a host is judged by its own N, ours if it published 0).
  const deadSeconds = hostDeadSeconds(
    effectiveIoTimeoutSeconds(status.ioTimeoutSeconds, ourIoTimeoutSeconds),
    watchdogFireTimeoutSeconds,
  );
  // §3: silence is proven only up to the issue time of our latest sample of its slot (see above).
  const silenceSeconds = provenSilenceSeconds(status);
  if (silenceSeconds > deadSeconds) {
    const since = status.lastLiveSeconds === undefined ? 'since the first check' : 'since its last renewal seen';
    return {
      live: false,
      reason: `no renewal in the ${silenceSeconds.toFixed(1)} s ${since} up to our latest sample (host_dead_seconds ${deadSeconds})`,
    };
  }
  return {
    live: true,
    reason: `our latest sample proves only ${silenceSeconds.toFixed(1)} s without a renewal (host_dead_seconds ${deadSeconds})`,
  };
}

/** Returns the shared holders that are alive; dead ones are cleared from the disk. */
export async function clearDeadSharedHolders(
  ctx: PaxosContext,
  area: LeaseArea,
  hostIds: readonly number[],
  us: OurIdentity,
  logger: Logger,
): Promise<LeaseHolder[]> {
  const { delta, clock } = ctx;
  const live: LeaseHolder[] = [];
  for (const hostId of hostIds) {
    if (hostId === us.hostId) continue;
    const { mode } = await readHostSector(area, hostId, `mode block of shared holder host_id ${hostId}`);
    const log = { resource: area.name, hostId, generation: mode.generation };
    // It may have released its shared hold since the ballot saw it.
    if (!isShared(mode)) continue;
    if (mode.generation === 0n) {
      logger.warn(log, 'SHARED mode block without a generation: ignored');
      continue;
    }
    const status = delta.host(hostId);
    const verdict = sharedHolderLiveness(
      status,
      mode.generation,
      delta.config.ioTimeoutSeconds,
      delta.config.watchdogFireTimeoutSeconds,
    );
    if (verdict.live) {
      logger.info({ ...log, reason: verdict.reason }, 'shared holder is alive');
      live.push(
        holderFacts({
          hostId,
          generation: mode.generation,
          mode: 'shared',
          status,
          ourIoTimeoutSeconds: delta.config.ioTimeoutSeconds,
          watchdogFireTimeoutSeconds: delta.config.watchdogFireTimeoutSeconds,
        }),
      );
      continue;
    }
    // §7.6: the one write to another host's sector; never once our own lease has run out.
    requireJoined(delta, clock, area.location);
    await zeroHostSector(area, hostId);
    logger.warn({ ...log, reason: verdict.reason }, 'cleared the shared lease of a dead host');
  }
  return live;
}
