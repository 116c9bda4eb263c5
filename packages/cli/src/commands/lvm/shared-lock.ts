/**
 * The locks of shared VGs, taken as lvmlockd takes them but held by the command's own process through
 * the leasehold daemon (so they go when the command dies): VGLK exclusive around a change, with the
 * new seqno in its value block at release (version 0x0101, what lvmlockd hosts compare against their
 * cache); GLLK exclusive around changes to the set of VGs. Conflicts are retried for about as long as
 * lvmlockd and lvm retry together, then reported naming the holder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LeaseholdClient, defaultSocketPath, isLeaseholdError, type Lease } from '@leasehold/client';
import {
  GL_RESOURCE_NAME,
  GL_SLOT,
  LVM_VALUE_BLOCK_VERSION,
  VG_RESOURCE_NAME,
  VG_SLOT,
  decodeLvmValueBlock,
  encodeLvmValueBlock,
  type LvmValueBlock,
} from '@leasehold/ondisk';
import { parseKvText } from '@leasehold/daemon/config-file';
import { isVgShared } from '@leasehold/lvm-format';
import {
  findVg,
  readAllVgs,
  scanDevices,
  type ParsedTextCache,
  type VgRead,
  type VgScanResult,
} from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import { lockLvLocation, slotPvOffset, type LockLvLocation } from './shared-layout.js';
import { textCacheOf, type Session } from './session.js';

/** lvmlockd retries a busy VG/GL lock 4 times 1 s apart and lvm repeats the request 3 times: ~15 s. */
export const LOCK_RETRY_SECONDS = 15;
const LOCK_RETRY_MIN_MS = 200;
const LOCK_RETRY_MAX_MS = 1000;
/** Codes meaning "someone holds it now": retried. */
const BUSY_CODES: ReadonlySet<string> = new Set(['LEASE_HELD', 'LEASE_HELD_LOCALLY', 'SHARED_HOLDERS', 'TIMEOUT']);
export const DEFAULT_HOST_ID_FILE = '/etc/leasehold/host-id.conf';
/** lvmlockd's default sanlock io_timeout. */
export const DEFAULT_SHARED_IO_TIMEOUT_SECONDS = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** leasehold.conf settings the shared-VG commands read (io_timeout, host_id_file). */
export function sharedSettings(session: Session): { ioTimeoutSeconds: number; hostIdFile: string } {
  const settings = { ioTimeoutSeconds: DEFAULT_SHARED_IO_TIMEOUT_SECONDS, hostIdFile: DEFAULT_HOST_ID_FILE };
  const path = session.configPath;
  if (path === undefined || !existsSync(path)) return settings;
  for (const entry of parseKvText(readFileSync(path, 'utf8'), path)) {
    if (entry.key === 'io_timeout' && /^\d+$/.test(entry.value)) settings.ioTimeoutSeconds = Number(entry.value);
    if (entry.key === 'host_id_file') settings.hostIdFile = entry.value;
  }
  return settings;
}

/** host_id for VG's lockspace from host-id.conf: `<vg> =`, `lvm_<vg> =`, `* =`, else 'auto' (the daemon picks). */
export function hostIdFor(session: Session, vgName: string, lockspace: string): number | 'auto' {
  const file = sharedSettings(session).hostIdFile;
  if (!existsSync(file)) return 'auto';
  const map = new Map<string, number>();
  for (const entry of parseKvText(readFileSync(file, 'utf8'), file)) {
    if (!/^\d+$/.test(entry.value))
      throw new LvmCommandError('BAD_CONFIG', [
        `${file}:${entry.line}: host_id must be a number, got "${entry.value}"`,
      ]);
    map.set(entry.key, Number(entry.value));
  }
  return map.get(vgName) ?? map.get(lockspace) ?? map.get('*') ?? 'auto';
}

/** Connects to the daemon, or says how to start it. */
export async function connectForVg(vgName: string, what: string): Promise<LeaseholdClient> {
  try {
    return await LeaseholdClient.connect({ socketPath: defaultSocketPath(), name: `leasehold-${what}` });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new LvmCommandError('NO_DAEMON', [
      `VG ${vgName} ${what} failed: cannot reach the leasehold daemon at ${defaultSocketPath()} (${message}).`,
      'Start it (systemctl start leasehold, or leasehold daemon), then run: leasehold lockstart ' + vgName,
    ]);
  }
}

/** One line naming who holds a lease, from the daemon's error details and the lockspace's host table. */
async function holderText(
  client: LeaseholdClient,
  lockspace: string,
  details: Record<string, unknown> | undefined,
): Promise<string> {
  const raw = details?.['ownerId'] ?? details?.['hostId'] ?? details?.['owner'];
  const ownerId =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
  if (ownerId === undefined) return 'another host';
  try {
    const table = await client.hostStatus(lockspace);
    const host = table.hosts.find((h) => h.hostId === ownerId);
    if (host === undefined) return `host_id ${ownerId}`;
    const since = host.lastLiveSecondsAgo === null ? '' : `, last renewed ${host.lastLiveSecondsAgo} s ago`;
    return `host_id ${ownerId} (${host.hostName}, ${host.state}${since})`;
  } catch {
    return `host_id ${ownerId}`;
  }
}

export interface HeldLock {
  lease: Lease;
  valueBlock: LvmValueBlock;
}

/** Acquires `resource` at `offsetBytes` of the VG's lockspace, retrying a busy lease as lvmlockd does. */
export async function acquireVgResource(
  client: LeaseholdClient,
  location: LockLvLocation,
  resource: string,
  slot: number,
  mode: 'EX' | 'SH',
  label: string,
): Promise<HeldLock> {
  const deadline = Date.now() + LOCK_RETRY_SECONDS * 1000;
  for (;;) {
    try {
      const lease = await client.acquire(
        { lockspace: location.lockspace, resource, path: location.path, offsetBytes: slotPvOffset(location, slot) },
        { mode, lvb: true },
      );
      const valueBlock = decodeLvmValueBlock(lease.lvb ?? new Uint8Array(8));
      return { lease, valueBlock };
    } catch (error) {
      if (isLeaseholdError(error, 'NO_LOCKSPACE') || isLeaseholdError(error, 'LOCKSPACE_STARTING')) {
        throw new LvmCommandError('NO_LOCKSPACE', [
          `${label} lock failed: the lockspace of VG ${location.vgName} is not started on this host.`,
          `Start it with: leasehold lockstart ${location.vgName}`,
        ]);
      }
      if (isLeaseholdError(error) && BUSY_CODES.has(error.code) && Date.now() < deadline) {
        await sleep(LOCK_RETRY_MIN_MS + Math.random() * (LOCK_RETRY_MAX_MS - LOCK_RETRY_MIN_MS));
        continue;
      }
      if (isLeaseholdError(error) && BUSY_CODES.has(error.code)) {
        const holder = await holderText(client, location.lockspace, error.details);
        throw new LvmCommandError('LEASE_HELD', [
          `${label} lock failed: held by ${holder} (${mode} wanted; retried ${LOCK_RETRY_SECONDS} s).`,
          error.message,
        ]);
      }
      throw error;
    }
  }
}

/** A VG change in progress under VGLK EX; finish() writes the committed seqno into the value block. */
export interface SharedVgChange {
  location: LockLvLocation;
  client: LeaseholdClient;
  /** VGLK's value block as found at acquire. */
  valueBlock: LvmValueBlock;
  finish(session: Session): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A shared VG read under its VGLK must be at least as new as the seqno the last writer left in the
 * value block (lvmlockd hosts trust that number): an older copy means this host does not see the
 * last commit (a stale path or cache), and changing it would lose that commit.
 */
export function checkAgainstValueBlock(read: VgRead): void {
  const change = inProgress.get(read.name);
  if (change === undefined || change.valueBlock.version === 0 || change.valueBlock.flags !== 0) return;
  if (read.seqno < change.valueBlock.rVersion) {
    throw new LvmCommandError('METADATA_STALE', [
      `VG ${read.name} metadata seqno ${read.seqno} is older than seqno ${change.valueBlock.rVersion} in its VGLK value block: the last commit of another host is not visible on this host's devices.`,
      'Nothing was changed. Check that this host sees the same PVs (leasehold.conf devices).',
    ]);
  }
}

/** Changes in progress in this process, by VG name (one per VG: the file lock serialises them). */
const inProgress = new Map<string, SharedVgChange>();

/** Every VG of the session's devices, without printing the scan's warnings (the command's own scan does). */
export async function scanQuietly(session: Session): Promise<VgScanResult> {
  return readAllVgs(
    await scanDevices(
      session.devices.filter((d) => existsSync(d)),
      scanOptions(session),
    ),
  );
}

function scanOptions(session: Session): { textCache?: ParsedTextCache } {
  const textCache = textCacheOf(session);
  return textCache === undefined ? {} : { textCache };
}

async function quietRead(session: Session, vgName: string, first: readonly string[] = []): Promise<VgRead | undefined> {
  // The PV holding lvmlock first: a VG on one PV is then read from it alone.
  if (first.length > 0) {
    const own = readAllVgs(await scanDevices([...first], scanOptions(session)));
    const read = own.vgs.find((v) => v.name === vgName);
    if (read !== undefined && read.missingPvIds.length === 0) return findVg(own, vgName);
  }
  const result = readAllVgs(
    await scanDevices(
      session.devices.filter((d) => existsSync(d)),
      scanOptions(session),
    ),
  );
  return result.vgs.some((v) => v.name === vgName) ? findVg(result, vgName) : undefined;
}

/**
 * Before a change to VG `vgName`: when it is a shared VG, takes VGLK EX through the daemon (held by
 * this process) and returns the change to finish; undefined for a local (or absent) VG.
 */
export async function beginSharedVgChange(session: Session, vgName: string): Promise<SharedVgChange | undefined> {
  const read = await quietRead(session, vgName);
  if (read === undefined || !isVgShared(read.vg)) return undefined;
  let location: LockLvLocation;
  try {
    location = lockLvLocation(read);
  } catch (error) {
    // lvm's words first (the VG needs a lock manager), then why leasehold cannot be that here.
    if (error instanceof LvmCommandError)
      throw new LvmCommandError(error.code, [
        `Cannot access VG ${vgName} with lock type ${read.vg.lockType ?? ''} that requires lvmlockd.`,
        ...error.lines,
      ]);
    throw error;
  }
  const client = await connectForVg(vgName, 'lock');
  let held: HeldLock;
  try {
    held = await acquireVgResource(client, location, VG_RESOURCE_NAME, VG_SLOT, 'EX', `VG ${vgName}`);
  } catch (error) {
    client.close();
    throw error;
  }
  const done = async (lvb: Uint8Array | undefined): Promise<void> => {
    inProgress.delete(vgName);
    try {
      await held.lease.release(lvb === undefined ? {} : { lvb });
    } finally {
      client.close();
    }
  };
  const change: SharedVgChange = {
    location,
    client,
    valueBlock: held.valueBlock,
    async finish(s: Session) {
      // The committed seqno, read back: what lvmlockd hosts compare with their cached copy.
      const after = await quietRead(s, vgName, [location.path]);
      const seqno = after?.seqno ?? held.valueBlock.rVersion;
      const flags = after === undefined ? 1 : 0; // VBF_REMOVED when the VG is gone
      await done(encodeLvmValueBlock({ version: LVM_VALUE_BLOCK_VERSION, flags, rVersion: seqno }));
    },
    abort: () => done(undefined),
  };
  inProgress.set(vgName, change);
  return change;
}

/** The shared-VG change this process has in progress on `vgName` (under its VGLK), if any. */
export function sharedChangeOf(vgName: string): SharedVgChange | undefined {
  return inProgress.get(vgName);
}

/**
 * After a change to the set of VGs or PVs under GLLK EX: bumps GLLK's global version (its value
 * block's r_version), as lvmlockd does, so hosts that cache the VG list reread it.
 */
export async function withGlobalLockEx<T>(
  client: LeaseholdClient,
  location: LockLvLocation,
  work: () => Promise<T>,
): Promise<T> {
  const held = await acquireVgResource(client, location, GL_RESOURCE_NAME, GL_SLOT, 'EX', 'Global');
  let ok = false;
  try {
    const result = await work();
    ok = true;
    return result;
  } finally {
    const lvb = ok
      ? encodeLvmValueBlock({ version: LVM_VALUE_BLOCK_VERSION, flags: 0, rVersion: held.valueBlock.rVersion + 1 })
      : undefined;
    await held.lease.release(lvb === undefined ? {} : { lvb });
  }
}
