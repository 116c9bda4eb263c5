/**
 * §6 requests, the holder's side. When another host sets our bit in its delta-lease bitmap (our
 * delta lease reports it as a ping), we read sector 1 of every lease we hold EXCLUSIVE in that
 * lockspace (1 sector each). If force_mode ≠ 0 and req.lver > the lver we hold, the caller is told
 * to act: FORCE (1) → kill the lease user (SIGKILL), GRACEFUL (2) → ask it to stop (SIGTERM).
 * As sanlock: only exclusive holds have a user to signal; the record is never cleared by us.
 * A ping can arrive on every renewal of the sender for set_bitmap_seconds; the same request (lease,
 * request lver, mode) is reported once.
 */
import { FORCE_MODE_GRACEFUL, FORCE_MODE_KILL, verifyRequest } from '@leasehold/ondisk';
import type { Disk } from '@leasehold/disk';
import { silentLogger, type Logger } from '../logger.js';
import { LeaseArea, REQUEST_SECTOR_INDEX } from './lease-area.js';
import { describeLocation, type HeldLease } from './types.js';
import type { PaxosDeltaView } from '../delta/paxos-view.js';

export type RequestAction = 'kill' | 'graceful';

export interface LeaseRequestNotice {
  lease: HeldLease;
  /** The lver the requester asked for (greater than ours). */
  requestLver: bigint;
  forceMode: number;
  action: RequestAction;
  /** Hosts whose pings made us look (the requester is among them). */
  fromHostIds: number[];
}

export interface RequestWatchIo {
  disk: Disk;
  delta: PaxosDeltaView;
  logger?: Logger;
}

function actionOf(forceMode: number): RequestAction | undefined {
  if (forceMode === FORCE_MODE_KILL) return 'kill';
  if (forceMode === FORCE_MODE_GRACEFUL) return 'graceful';
  return undefined;
}

/** Reads the request record of each exclusive lease of `leases` and returns those asking us to act. */
export async function examineRequests(
  io: { disk: Disk; logger?: Logger },
  leases: Iterable<HeldLease>,
  fromHostIds: number[],
): Promise<LeaseRequestNotice[]> {
  const logger = io.logger ?? silentLogger;
  const notices: LeaseRequestNotice[] = [];
  for (const lease of leases) {
    if (lease.mode !== 'exclusive') continue;
    const area = new LeaseArea(io.disk, lease.location, lease.geometry);
    let record;
    try {
      const bytes = await area.read(REQUEST_SECTOR_INDEX, 1, 'request record');
      record = verifyRequest(bytes, 0, area.sectorOffsetBytes(REQUEST_SECTOR_INDEX));
    } catch (error) {
      logger.warn(
        { resource: area.name, error: error instanceof Error ? error.message : String(error) },
        'examining the request record failed',
      );
      continue;
    }
    if (record.forceMode === 0 || record.lver === 0n || record.lver <= lease.lver) continue;
    const action = actionOf(record.forceMode);
    if (action === undefined) {
      logger.warn({ resource: area.name, forceMode: record.forceMode }, 'request with an unknown force mode ignored');
      continue;
    }
    logger.info(
      { resource: area.name, heldLver: lease.lver, requestLver: record.lver, action, fromHostIds },
      'request to act on a held lease',
    );
    notices.push({
      lease,
      requestLver: record.lver,
      forceMode: record.forceMode,
      action,
      fromHostIds: [...fromHostIds],
    });
  }
  return notices;
}

/**
 * Connects pings to request checks for the leases a caller holds: `poll()` takes the pings from the
 * delta lease (or `onPings(hostIds)` is fed by the renewal loop's onPing), examines, and calls
 * `onRequest` once per distinct request.
 */
export class RequestWatcher {
  private readonly reported = new Set<string>();

  constructor(
    private readonly io: RequestWatchIo,
    private readonly heldLeases: () => Iterable<HeldLease>,
    private readonly onRequest: (notice: LeaseRequestNotice) => void,
  ) {}

  /** Takes the delta lease's pings; examines our leases if there were any. */
  async poll(): Promise<LeaseRequestNotice[]> {
    const pings = this.io.delta.takePings();
    return pings.length === 0 ? [] : this.onPings(pings);
  }

  async onPings(fromHostIds: number[]): Promise<LeaseRequestNotice[]> {
    const space = this.io.delta.config.spaceName;
    const mine = [...this.heldLeases()].filter((lease) => lease.location.spaceName === space);
    const notices = await examineRequests(this.io, mine, fromHostIds);
    const fresh = notices.filter((notice) => {
      const key = `${describeLocation(notice.lease.location)}#${notice.lease.lver}>${notice.requestLver}/${notice.forceMode}`;
      if (this.reported.has(key)) return false;
      this.reported.add(key);
      return true;
    });
    for (const notice of fresh) this.onRequest(notice);
    return fresh;
  }
}
