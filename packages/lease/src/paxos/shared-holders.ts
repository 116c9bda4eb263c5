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
 */
import type { HostStatus } from '../delta/api.js';
import { effectiveIoTimeoutSeconds } from '../delta/config.js';
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

export function sharedHolderLiveness(
  status: HostStatus | undefined,
  modeGeneration: bigint,
  nowSeconds: number,
  ourIoTimeoutSeconds: number,
  watchdogFireTimeoutSeconds: number,
): SharedLiveness {
  if (status === undefined) return { live: true, reason: 'no data about the host' };
  if (status.lastCheckSeconds === undefined) return { live: true, reason: 'not checked yet' };
  if (status.timestamp === 0n) return { live: false, reason: 'its delta lease is free' };
  if (status.generation > modeGeneration) return { live: false, reason: `its delta lease has a newer generation ${status.generation}` };
  if (status.generation < modeGeneration) return { live: true, reason: `our host table still shows generation ${status.generation}` };
  const deadSeconds = hostDeadSeconds(effectiveIoTimeoutSeconds(status.ioTimeoutSeconds, ourIoTimeoutSeconds), watchdogFireTimeoutSeconds);
  if (status.lastLiveSeconds === undefined) {
    if (status.firstCheckSeconds !== undefined && nowSeconds - status.firstCheckSeconds > deadSeconds) {
      return { live: false, reason: `no renewal seen in ${deadSeconds} s since the first check` };
    }
  } else if (nowSeconds - status.lastLiveSeconds > deadSeconds) {
    return { live: false, reason: `no renewal seen for more than ${deadSeconds} s` };
  }
  return { live: true, reason: 'renewed recently' };
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
    const verdict = sharedHolderLiveness(status, mode.generation, clock.nowSeconds(), delta.config.ioTimeoutSeconds, delta.config.watchdogFireTimeoutSeconds);
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
