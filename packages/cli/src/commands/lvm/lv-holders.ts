/**
 * Who holds an LV's lease, read from disk: the EX owner in the lease's leader, or the SH holders in
 * its per-host mode blocks (sanlock's shared mode), each named from its delta lease in the VG's
 * lockspace with its liveness. Liveness comes from where it is already judged: the daemon's host
 * table when this host has the lockspace started (what `leasehold hosts` prints: LIVE/FAIL/DEAD and
 * the last renewal seen), else one read of the lockspace as `direct hosts` does it (held slots are
 * UNKNOWN: one sample cannot tell live from dead).
 *
 * A holder whose host has since left the lockspace (its delta lease free) or joined again with a newer
 * generation holds nothing: sanlock takes such a lease at once, so it is not listed.
 */
import type { HostInfo, LeaseholdClient } from '@leasehold/client';
import type { Disk } from '@leasehold/disk';
import { LockspaceObserver } from '@leasehold/lease';
import { formatUuid, type LogicalVolume } from '@leasehold/lvm-format';
import {
  LFL_SHORT_HOLD,
  MBLOCK_SHARED,
  PAXOS_LEADER_MAGIC,
  decodeLeader,
  decodeModeBlock,
  MODE_BLOCK_OFFSET_BYTES,
} from '@leasehold/ondisk';
import { directDeviceOpener, readBytes, type VgRead } from '@leasehold/volume';
import { hostRows } from '../direct-hosts.js';
import { realClock } from '../../real-clock.js';
import { lockLvLocation, lvLeasePlace, type LockLvLocation } from './shared-layout.js';

/** A host's state in the lockspace, as `hosts` and `direct hosts` name it. */
export type HolderHostState = HostInfo['state'];

export interface LvLeaseHolder {
  hostId: number;
  mode: 'EX' | 'SH';
  /** The generation of the host's delta lease that holds it. */
  generation: bigint;
  /** The host's unique name from its delta lease ('' when none is written). */
  hostName: string;
  state: HolderHostState;
  /** Seconds since this host's daemon last saw the holder renew; null when not known (no daemon table). */
  lastRenewalSecondsAgo: number | null;
  /** The holder is this host (its host_id in the lockspace started here). */
  self: boolean;
}

export interface LvLeaseHolders {
  vgName: string;
  lvName: string;
  /** The LV's UUID with dashes: the lease's resource name. */
  lvUuid: string;
  lockspace: string;
  path: string;
  offsetBytes: number;
  /** EX owner first, then SH holders by host_id. */
  holders: LvLeaseHolder[];
  /** Where the liveness came from: this host's daemon (lockspace started here) or one read of the lockspace. */
  liveness: 'daemon' | 'disk';
  /** Set when the LV's slot does not hold its lease (another name, or no lease): nobody holds it then. */
  problem?: string;
}

/** One host's entry in the lockspace, from the daemon's table or a read of the area. */
interface HostEntry {
  hostId: number;
  state: HolderHostState;
  generation: bigint;
  hostName: string;
  lastRenewalSecondsAgo: number | null;
  self: boolean;
}

interface HostTableView {
  source: 'daemon' | 'disk';
  byId: Map<number, HostEntry>;
  /** The highest host_id that ever owned a delta lease here: no mode block above it can be set. */
  maxHostId: number;
}

async function withPv<T>(path: string, work: (disk: Disk) => Promise<T>): Promise<T> {
  const disk = await directDeviceOpener.open(path, { write: false });
  try {
    return await work(disk);
  } finally {
    await disk.close();
  }
}

function toTable(source: 'daemon' | 'disk', entries: HostEntry[]): HostTableView {
  const byId = new Map(entries.map((e) => [e.hostId, e]));
  return { source, byId, maxHostId: entries.reduce((n, e) => Math.max(n, e.hostId), 0) };
}

async function daemonTable(client: LeaseholdClient, lockspace: string): Promise<HostTableView | undefined> {
  try {
    const table = await client.hostStatus(lockspace);
    return toTable(
      'daemon',
      table.hosts.map((h) => ({
        hostId: h.hostId,
        state: h.state,
        generation: BigInt(h.generation),
        hostName: h.hostName,
        lastRenewalSecondsAgo: h.lastLiveSecondsAgo,
        self: h.self,
      })),
    );
  } catch {
    // Not started here (or the daemon went away): the disk alone then.
    return undefined;
  }
}

async function diskTable(location: LockLvLocation): Promise<HostTableView> {
  return withPv(location.path, async (disk) => {
    const observer = await LockspaceObserver.open(disk, realClock, {
      spaceName: location.lockspace,
      areaOffsetBytes: location.offsetBytes,
    });
    await observer.sample();
    return toTable(
      'disk',
      hostRows(observer).map((row) => ({
        hostId: row.hostId,
        state: row.state,
        generation: row.generation,
        hostName: row.name,
        lastRenewalSecondsAgo: null,
        self: false,
      })),
    );
  });
}

/** A holder as the host table shows its host; undefined when it holds nothing any more (see the top). */
function holderOf(
  table: HostTableView,
  hostId: number,
  mode: 'EX' | 'SH',
  generation: bigint,
): LvLeaseHolder | undefined {
  const host = table.byId.get(hostId);
  if (host === undefined || host.state === 'FREE' || host.generation > generation) return undefined;
  return {
    hostId,
    mode,
    generation,
    hostName: host.hostName,
    state: host.state,
    lastRenewalSecondsAgo: host.lastRenewalSecondsAgo,
    self: host.self,
  };
}

/**
 * Reads the holders of several LVs of one VG with one look at its lockspace (lvs, vgremove). Pass the
 * daemon's client to have liveness judged by its host table when the lockspace is started here.
 */
export class VgHolderReader {
  private table: HostTableView | undefined;

  constructor(
    readonly read: VgRead,
    private readonly client?: LeaseholdClient,
    readonly location: LockLvLocation = lockLvLocation(read),
  ) {}

  private async hostTable(): Promise<HostTableView> {
    if (this.table !== undefined) return this.table;
    const fromDaemon = this.client === undefined ? undefined : await daemonTable(this.client, this.location.lockspace);
    this.table = fromDaemon ?? (await diskTable(this.location));
    return this.table;
  }

  async holdersOf(lv: LogicalVolume): Promise<LvLeaseHolders> {
    const location = this.location;
    const place = lvLeasePlace(location, lv);
    const uuid = formatUuid(lv.id);
    const table = await this.hostTable();
    const result: LvLeaseHolders = {
      vgName: location.vgName,
      lvName: lv.name,
      lvUuid: uuid,
      lockspace: location.lockspace,
      path: place.path,
      offsetBytes: place.offsetBytes,
      holders: [],
      liveness: table.source,
    };
    const sectorSize = location.geometry.sectorSize;
    // The leader and the host sectors up to the highest host_id that ever joined, in one read.
    const sectors = 2 + Math.min(table.maxHostId, location.geometry.maxHosts);
    const area = await withPv(place.path, (disk) => readBytes(disk, place.offsetBytes, sectors * sectorSize));
    const leader = decodeLeader(area, 0);
    if (leader.magic !== PAXOS_LEADER_MAGIC || leader.resourceName !== uuid) {
      result.problem =
        leader.magic !== PAXOS_LEADER_MAGIC
          ? `its lease slot at ${place.offsetBytes} of ${place.path} holds no lease`
          : `its lease slot at ${place.offsetBytes} of ${place.path} holds "${leader.resourceName}", not ${uuid}`;
      return result;
    }
    const owner = Number(leader.ownerId);
    // A leader held with SHORT_HOLD is a shared acquire in progress (§5.4): that host is an SH holder.
    const ownerMode = (leader.flags & LFL_SHORT_HOLD) !== 0 ? 'SH' : 'EX';
    if (leader.timestamp !== 0n && owner > 0) {
      const holder = holderOf(table, owner, ownerMode, leader.ownerGeneration);
      if (holder !== undefined) result.holders.push(holder);
    }
    for (let hostId = 1; hostId + 2 <= sectors; hostId++) {
      const mode = decodeModeBlock(area, (hostId + 1) * sectorSize + MODE_BLOCK_OFFSET_BYTES);
      if ((mode.flags & MBLOCK_SHARED) === 0 || mode.generation === 0n) continue;
      if (result.holders.some((h) => h.hostId === hostId)) continue;
      const holder = holderOf(table, hostId, 'SH', mode.generation);
      if (holder !== undefined) result.holders.push(holder);
    }
    return result;
  }
}

/** The holders of one LV's lease (see VgHolderReader); `client` lets the daemon's host table judge liveness. */
export async function readLvHolders(
  read: VgRead,
  lv: LogicalVolume,
  options: { client?: LeaseholdClient } = {},
): Promise<LvLeaseHolders> {
  return new VgHolderReader(read, options.client).holdersOf(lv);
}

const SECONDS_DECIMALS = 1;

/** `host_id 2 "node-b" (EX, LIVE, last renewal 1.2 s ago)`; `this host` for our own. */
export function holderText(holder: LvLeaseHolder): string {
  const name = holder.hostName === '' ? '' : ` "${holder.hostName}"`;
  const renewal =
    holder.lastRenewalSecondsAgo === null
      ? ''
      : `, last renewal ${holder.lastRenewalSecondsAgo.toFixed(SECONDS_DECIMALS)} s ago`;
  const who = holder.self ? `this host (host_id ${holder.hostId}${name})` : `host_id ${holder.hostId}${name}`;
  return `${who} (${holder.mode}, ${holder.state}${renewal})`;
}

/** The holders other than this host. */
export function otherHolders(holders: LvLeaseHolders): LvLeaseHolder[] {
  return holders.holders.filter((h) => !h.self);
}

/**
 * The lines a refusal prints after lvm's own first line: who holds the LV and how, and where the
 * liveness came from when it could not be judged here.
 */
export function holderLines(holders: LvLeaseHolders, which: LvLeaseHolder[] = holders.holders): string[] {
  if (which.length === 0) return [];
  const active = which.every((h) => h.mode === 'SH') ? 'active shared' : 'active exclusively';
  const lines = [`${holders.vgName}/${holders.lvName} is ${active} on ${which.map(holderText).join(', ')}.`];
  if (holders.liveness === 'disk')
    lines.push(
      `(Liveness from one read of lockspace ${holders.lockspace}: start it here, leasehold lockstart ${holders.vgName}, to see LIVE/FAIL/DEAD.)`,
    );
  return lines;
}

/** The short form of lvs' lock_holders: `1:EX`, `1:SH,3:SH`. */
export function holdersShort(holders: LvLeaseHolders): string {
  return holders.holders.map((h) => `${h.hostId}:${h.mode}`).join(',');
}

/** The long form: `1:EX:node-a:LIVE`, `1:SH:node-a:LIVE,3:SH:node-c:FAIL`. */
export function holdersLong(holders: LvLeaseHolders): string {
  return holders.holders.map((h) => `${h.hostId}:${h.mode}:${h.hostName}:${h.state}`).join(',');
}
