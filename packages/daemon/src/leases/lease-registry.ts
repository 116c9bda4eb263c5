/**
 * The resource leases this host holds, and for whom.
 *
 * A lease belongs to a holder: a client process (pid + start time, known from its socket's peer
 * credentials) or the daemon itself (persistent leases, which outlive the command that asked for
 * them). A process's leases are released when it exits, however it exits (pidfd); only their holder
 * may release or convert them. One holder per resource per host.
 *
 * Every lease is written to the state database before its acquire starts (an intent) and updated
 * when it is held, so that after a daemon crash nothing held on disk is unknown to the next daemon.
 */
import { assert, MAX_PERSISTENT_LEASES, MAX_REPORTED_REQUESTS } from '@leasehold/host-core';
import { getValueBlock, isPaxosError, setValueBlock, type HeldLease, type Logger } from '@leasehold/lease';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import type { ClientProcess } from '../clients/client-registry.js';
import { isSameProcessAlive, readProcStat } from '../clients/proc.js';
import type { ProcessWatch } from '../clients/process-watch.js';
import type { PlacedLease } from '../lanes/lane-messages.js';
import type { Lockspace } from '../lockspaces/lockspace.js';
import type { LockspaceManager } from '../lockspaces/lockspace-manager.js';
import type { LockspaceUsers } from '../lockspaces/lockspace-users.js';
import { DaemonError } from '@leasehold/protocol';
import { MAX_LEASES_PER_PROCESS } from '@leasehold/protocol';
import type {
  AcquireRequest,
  AcquireResult,
  ConvertRequest,
  GetLvbRequest,
  LeaseInfo,
  LeaseMode,
  ReleaseRequest,
  RequestRequest,
  SetLvbRequest,
} from '@leasehold/protocol';
import type { StateDb, StoredLease } from '../state/state-db.js';
import { monotonicSeconds, sleepMs } from '../util/monotonic.js';
import { decodeToken, encodeToken } from '../util/wire.js';
import type { KillVictim } from './kill-action.js';
import { describeHolderText, holderKey, sameHolder, type Holder } from './holder.js';
import { BUSY_LEASE_CODES, leaseCodeOf, toProtocolError } from './lease-errors.js';

/** Pause between attempts of an acquire that waits for a busy lease (plus up to the same again at random). */
export const ACQUIRE_RETRY_MS = 250;

type RecordState = 'acquiring' | 'held' | 'releasing' | 'converting';

interface LeaseRecord {
  key: string;
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
  mode: LeaseMode;
  holder: Holder;
  state: RecordState;
  held: HeldLease | undefined;
  acquiredAt: string;
}

export interface Requester {
  client: ClientProcess;
  signal: AbortSignal;
}

function leaseKey(lockspace: string, resource: string): string {
  return `${lockspace}\0${resource}`;
}

/** The lease layer's value-block refusals (not acquired with it, too big) as INVALID_ARGUMENT. */
function valueBlockError(error: unknown): DaemonError {
  return isPaxosError(error) ? new DaemonError('INVALID_ARGUMENT', error.message) : toProtocolError(error);
}

const modeOf = (mode: LeaseMode): 'exclusive' | 'shared' => (mode === 'EX' ? 'exclusive' : 'shared');

export class LeaseRegistry implements LockspaceUsers {
  private readonly records = new Map<string, LeaseRecord>();
  private readonly byHolder = new Map<string, Set<LeaseRecord>>();
  private readonly releaseWaiters = new Map<string, Set<() => void>>();
  private readonly watchedHolders = new Map<string, (pid: number) => void>();
  private readonly reportedRequests = new Set<string>();

  constructor(
    private readonly manager: LockspaceManager,
    private readonly db: StateDb,
    private readonly watch: ProcessWatch,
    private readonly config: DaemonConfig,
    private readonly logger: Logger,
  ) {}

  // -------------------------------------------------------------------------------- queries

  all(): LeaseInfo[] {
    return [...this.records.values()]
      .filter((record) => record.state !== 'acquiring')
      .map((record) => this.info(record));
  }

  heldBy(holder: Holder): LeaseInfo[] {
    return [...(this.byHolder.get(holderKey(holder)) ?? [])]
      .filter((record) => record.state !== 'acquiring')
      .map((record) => this.info(record));
  }

  countIn(lockspace: string): number {
    let count = 0;
    for (const record of this.records.values()) if (record.lockspace === lockspace) count++;
    return count;
  }

  countHeldBy(holder: Holder): number {
    return this.byHolder.get(holderKey(holder))?.size ?? 0;
  }

  holdersIn(lockspace: string): Array<{ resource: string; holder: string }> {
    return [...this.records.values()]
      .filter((record) => record.lockspace === lockspace)
      .map((record) => ({ resource: record.resource, holder: describeHolderText(record.holder) }));
  }

  // -------------------------------------------------------------------------------- acquire

  /** The holder a request names: the caller, a child of the caller (holderPid), or the daemon. */
  holderFor(request: { persistent?: boolean; holderPid?: number }, client: ClientProcess): Holder {
    if (request.persistent === true) {
      if (request.holderPid !== undefined)
        throw new DaemonError('BAD_REQUEST', 'persistent and holderPid exclude each other');
      return { kind: 'persistent' };
    }
    if (request.holderPid === undefined || request.holderPid === client.pid) {
      return { kind: 'process', pid: client.pid, startTime: client.startTime, uid: client.uid };
    }
    const stat = readProcStat(request.holderPid);
    if (stat === undefined) throw new DaemonError('NOT_PERMITTED', `process ${request.holderPid} does not exist`);
    if (stat.ppid !== client.pid)
      throw new DaemonError(
        'NOT_PERMITTED',
        `process ${request.holderPid} is not a child of the caller (pid ${client.pid})`,
      );
    return { kind: 'process', pid: stat.pid, startTime: stat.startTime, uid: client.uid };
  }

  async acquire(request: AcquireRequest, requester: Requester): Promise<LeaseInfo> {
    const holder = this.holderFor(request, requester.client);
    const key = leaseKey(request.lockspace, request.resource);
    const deadline = monotonicSeconds() + (request.waitSeconds ?? 0);
    const timeLeft = (): number => deadline - monotonicSeconds();
    if (holder.kind === 'process' && this.countHeldBy(holder) >= MAX_LEASES_PER_PROCESS) {
      throw new DaemonError('TOO_MANY_LEASES', `pid ${holder.pid} already holds ${MAX_LEASES_PER_PROCESS} leases`);
    }
    if (holder.kind === 'persistent' && this.countHeldBy(holder) >= MAX_PERSISTENT_LEASES) {
      throw new DaemonError('TOO_MANY_LEASES', `the daemon already holds ${MAX_PERSISTENT_LEASES} persistent leases`);
    }
    for (;;) {
      if (requester.signal.aborted) throw new DaemonError('CLIENT_GONE', 'the client went away');
      const ls = this.manager.requireUsable(request.lockspace);
      const existing = this.records.get(key);
      if (existing !== undefined) {
        if (sameHolder(existing.holder, holder)) {
          throw new DaemonError(
            'ALREADY_HELD',
            `${request.lockspace}:${request.resource} is already held by this holder (${existing.mode})`,
          );
        }
        const busy = new DaemonError(
          'LEASE_HELD_LOCALLY',
          `${request.lockspace}:${request.resource} is held on this host by ${describeHolderText(existing.holder)}`,
          {
            holder: describeHolderText(existing.holder),
            mode: existing.mode,
          },
        );
        if (timeLeft() <= 0) throw (request.waitSeconds ?? 0) > 0 ? this.timeout(request, busy) : busy;
        await this.waitForLocalRelease(key, timeLeft(), requester.signal);
        continue;
      }
      const outcome = await this.attempt(ls, request, holder, key, Math.max(0, timeLeft()), requester.signal);
      if (outcome.kind === 'held') return outcome.info;
      if (timeLeft() <= 0 || requester.signal.aborted)
        throw (request.waitSeconds ?? 0) > 0 ? this.timeout(request, outcome.error) : outcome.error;
      await sleepMs(Math.min(timeLeft() * 1000, ACQUIRE_RETRY_MS + Math.random() * ACQUIRE_RETRY_MS));
    }
  }

  /** acquire, with the value block read at acquire when asked for (hex, one sector). */
  async acquireWithValue(request: AcquireRequest, requester: Requester): Promise<AcquireResult> {
    const lease = await this.acquire(request, requester);
    if (request.lvb !== true) return { lease };
    return { lease, lvb: this.getLvb(request, requester.client) };
  }

  private timeout(request: AcquireRequest, last: DaemonError): DaemonError {
    return new DaemonError(
      'TIMEOUT',
      `${request.lockspace}:${request.resource} was still busy after ${request.waitSeconds} s: ${last.message}`,
      {
        ...(last.details ?? {}),
        lastCode: last.code,
      },
    );
  }

  /** One acquire through the lane. Busy failures come back as values (the caller may retry). */
  private async attempt(
    ls: Lockspace,
    request: AcquireRequest,
    holder: Holder,
    key: string,
    ownerWaitSeconds: number,
    signal: AbortSignal,
  ): Promise<{ kind: 'held'; info: LeaseInfo } | { kind: 'busy'; error: DaemonError }> {
    const record: LeaseRecord = {
      key,
      lockspace: request.lockspace,
      resource: request.resource,
      path: request.path,
      offsetBytes: request.offsetBytes,
      mode: request.mode,
      holder,
      state: 'acquiring',
      held: undefined,
      acquiredAt: new Date().toISOString(),
    };
    // The host core admits the acquire (its book of who holds what follows ours) or refuses it.
    this.manager.leaseAcquiring(record.lockspace, record.resource, record.mode, holder);
    this.add(record);
    // The intent is on record before anything is written to the lease.
    this.persist(record, '');
    this.manager.beginResourceOp(ls);
    let held: HeldLease;
    try {
      held = await this.manager.resourceCall<HeldLease>(
        ls,
        {
          type: 'acquire',
          where: { resource: request.resource, path: request.path, offsetBytes: request.offsetBytes },
          mode: modeOf(request.mode),
          waitSeconds: ownerWaitSeconds,
          ...(request.lver === undefined ? {} : { lver: BigInt(request.lver) }),
          ...(request.lvb === true ? { valueBlock: true } : {}),
        },
        signal,
      );
    } catch (error) {
      this.remove(record);
      this.manager.leaseAcquired(record.lockspace, record.resource, { error: toProtocolError(error).toWire() });
      this.db.deleteLease(record.lockspace, record.resource, holderKey(holder));
      if (!ls.usable) {
        throw new DaemonError(
          'LOCKSPACE_LOST',
          `lockspace ${record.lockspace} lost its lease during the acquire of ${record.resource}`,
        );
      }
      const code = leaseCodeOf(error);
      const mapped = toProtocolError(error);
      if (code !== undefined && BUSY_LEASE_CODES.has(code)) return { kind: 'busy', error: mapped };
      throw mapped;
    } finally {
      this.manager.endResourceOp(ls);
    }
    record.held = held;
    this.manager.leaseAcquired(record.lockspace, record.resource, { token: encodeToken(held) });
    // Whoever it was for may have gone meanwhile; then it is given straight back.
    const holderGone = holder.kind === 'process' && !isSameProcessAlive(holder.pid, holder.startTime);
    if (holderGone || signal.aborted || !ls.usable || this.records.get(key) !== record) {
      this.logger.info(
        { lockspace: record.lockspace, resource: record.resource, holderGone, aborted: signal.aborted },
        'acquired lease no longer wanted: releasing',
      );
      if (this.records.get(key) === record) await this.releaseRecord(record, 'unwanted');
      throw new DaemonError(
        holderGone || signal.aborted ? 'CLIENT_GONE' : 'LOCKSPACE_LOST',
        `${record.lockspace}:${record.resource} was acquired but is no longer wanted`,
      );
    }
    record.state = 'held';
    this.db.transaction(() => {
      this.persist(record, encodeToken(held));
      this.db.addHistory('acquire', {
        lockspace: record.lockspace,
        resource: record.resource,
        ...(holder.kind === 'process' ? { pid: holder.pid } : {}),
        details: { mode: record.mode, lver: held.lver, persistent: holder.kind === 'persistent' },
      });
    });
    this.watchHolder(holder);
    return { kind: 'held', info: this.info(record) };
  }

  // ----------------------------------------------------------------------- release, convert

  async release(request: ReleaseRequest, client: ClientProcess): Promise<void> {
    const record = this.ownedRecord(request, client);
    if (request.lvb !== undefined) this.setLvb({ ...request, data: request.lvb }, client);
    await this.releaseRecord(record, 'release');
  }

  /** sanlock's set_lvb: kept with the held lease (and in state), written when it is released EX. */
  setLvb(request: Omit<SetLvbRequest, 'op'>, client: ClientProcess): void {
    const record = this.ownedRecord(request, client);
    const held = this.heldOf(record);
    let updated: HeldLease;
    try {
      updated = setValueBlock(held, Buffer.from(request.data, 'hex'));
    } catch (error) {
      throw valueBlockError(error);
    }
    record.held = updated;
    this.persist(record, encodeToken(updated));
  }

  /** sanlock's get_lvb: hex of the first `size` bytes (default the whole sector). */
  getLvb(request: Omit<GetLvbRequest, 'op'>, client: ClientProcess): string {
    const held = this.heldOf(this.ownedRecord(request, client));
    try {
      return Buffer.from(getValueBlock(held, request.size ?? 0)).toString('hex');
    } catch (error) {
      throw valueBlockError(error);
    }
  }

  private heldOf(record: LeaseRecord): HeldLease {
    if (record.held === undefined)
      throw new DaemonError('NOT_HELD', `${record.lockspace}:${record.resource} is not held on this host`);
    return record.held;
  }

  async convert(request: ConvertRequest, requester: Requester): Promise<LeaseInfo> {
    const record = this.ownedRecord(request, requester.client);
    if (record.mode === request.mode) return this.info(record);
    const ls = this.manager.requireUsable(record.lockspace);
    record.state = 'converting';
    this.manager.beginResourceOp(ls);
    try {
      const converted = await this.manager.resourceCall<HeldLease>(ls, {
        type: 'convert',
        lease: this.placed(record),
        mode: modeOf(request.mode),
        waitSeconds: 0,
      });
      record.held = converted;
      record.mode = request.mode;
      this.persist(record, encodeToken(converted));
      this.db.addHistory('convert', {
        lockspace: record.lockspace,
        resource: record.resource,
        details: { mode: request.mode, lver: converted.lver },
      });
      return this.info(record);
    } catch (error) {
      const stillHeld = (error as { failure?: { stillHeld?: HeldLease } }).failure?.stillHeld;
      if (stillHeld !== undefined) {
        record.held = stillHeld;
        record.mode = stillHeld.mode === 'exclusive' ? 'EX' : 'SH';
        this.persist(record, encodeToken(stillHeld));
      }
      throw toProtocolError(error);
    } finally {
      if (record.state === 'converting') record.state = 'held';
      this.manager.endResourceOp(ls);
      // The holder may have exited while the conversion ran (its exit found the lease busy).
      if (
        record.holder.kind === 'process' &&
        record.state === 'held' &&
        !isSameProcessAlive(record.holder.pid, record.holder.startTime)
      ) {
        void this.releaseRecord(record, 'holder exited');
      }
    }
  }

  /** The held record a request names, if the requester may act on it. */
  private ownedRecord(
    request: { lockspace: string; resource: string; persistent?: boolean; holderPid?: number },
    client: ClientProcess,
  ): LeaseRecord {
    const record = this.records.get(leaseKey(request.lockspace, request.resource));
    if (record === undefined && this.manager.get(request.lockspace)?.state === 'starting') {
      // After a restart the leases recorded in state are adopted only once the lockspace is joined.
      throw new DaemonError('LOCKSPACE_STARTING', `lockspace ${request.lockspace} is still starting; retry`);
    }
    if (record === undefined || record.state === 'acquiring') {
      throw new DaemonError('NOT_HELD', `${request.lockspace}:${request.resource} is not held on this host`);
    }
    const wanted = this.holderFor(request, client);
    if (!sameHolder(record.holder, wanted)) {
      throw new DaemonError(
        'NOT_OWNER',
        `${request.lockspace}:${request.resource} is held by ${describeHolderText(record.holder)}, not by you`,
        {
          holder: describeHolderText(record.holder),
        },
      );
    }
    if (record.state !== 'held')
      throw new DaemonError(
        'NOT_HELD',
        `${request.lockspace}:${request.resource} is being ${record.state === 'releasing' ? 'released' : 'converted'}`,
      );
    return record;
  }

  private async releaseRecord(record: LeaseRecord, why: string): Promise<void> {
    record.state = 'releasing';
    this.manager.leaseReleasing(record.lockspace, record.resource, record.holder);
    const ls = this.manager.get(record.lockspace);
    try {
      if (ls?.usable && record.held !== undefined) {
        this.manager.beginResourceOp(ls);
        try {
          await this.manager.resourceCall(ls, { type: 'release', lease: this.placed(record) });
        } finally {
          this.manager.endResourceOp(ls);
        }
      }
    } catch (error) {
      // The lease stays ours on disk until our host_id is released or expires; nobody here uses it.
      this.logger.error(
        { lockspace: record.lockspace, resource: record.resource, err: toProtocolError(error).toWire() },
        'releasing a lease on disk failed',
      );
      this.db.addHistory('release_failed', {
        lockspace: record.lockspace,
        resource: record.resource,
        details: { why, error: toProtocolError(error).message },
      });
    } finally {
      this.remove(record);
      this.manager.leaseReleased(record.lockspace, record.resource);
      this.db.transaction(() => {
        this.db.deleteLease(record.lockspace, record.resource, holderKey(record.holder));
        this.db.addHistory('release', {
          lockspace: record.lockspace,
          resource: record.resource,
          ...(record.holder.kind === 'process' ? { pid: record.holder.pid } : {}),
          details: { why },
        });
      });
    }
  }

  /** A process exited: everything it held is released. */
  onProcessExit(pid: number, startTime: bigint): void {
    const holder: Holder = { kind: 'process', pid, startTime, uid: 0 };
    const records = [...(this.byHolder.get(holderKey(holder)) ?? [])].filter((record) => record.state === 'held');
    if (records.length === 0) return;
    this.logger.info(
      { clientPid: pid, leases: records.map((record) => `${record.lockspace}:${record.resource}`) },
      'lease holder exited: releasing its leases',
    );
    for (const record of records) void this.releaseRecord(record, 'holder exited');
  }

  // ------------------------------------------------------------------------------ loss, pings

  dropForLoss(lockspace: string): { processes: KillVictim[]; persistentResources: string[] } {
    const processes = new Map<string, KillVictim>();
    const persistentResources: string[] = [];
    for (const record of [...this.records.values()]) {
      if (record.lockspace !== lockspace) continue;
      if (record.state !== 'acquiring') {
        if (record.holder.kind === 'persistent') persistentResources.push(record.resource);
        else processes.set(holderKey(record.holder), { pid: record.holder.pid, startTime: record.holder.startTime });
      }
      // No disk I/O for these any more; the state rows stay until the users are gone (onClean).
      this.logger.error(
        {
          lockspace,
          resource: record.resource,
          mode: record.mode,
          holderPid: record.holder.kind === 'process' ? record.holder.pid : 'persistent',
          state: record.state,
        },
        'lease lost with its lockspace',
      );
      this.remove(record);
      this.db.addHistory('lease_lost', {
        lockspace,
        resource: record.resource,
        ...(record.holder.kind === 'process' ? { pid: record.holder.pid } : {}),
      });
    }
    return { processes: [...processes.values()], persistentResources };
  }

  onPings(lockspace: string, fromHostIds: number[]): void {
    const ls = this.manager.get(lockspace);
    if (ls === undefined || !ls.usable) return;
    const held = [...this.records.values()].filter(
      (record) =>
        record.lockspace === lockspace && record.state === 'held' && record.mode === 'EX' && record.held !== undefined,
    );
    if (held.length === 0) return;
    this.manager.beginResourceOp(ls);
    void this.manager
      .resourceCall<Array<{ lease: PlacedLease; requestLver: bigint; action: string }>>(ls, {
        type: 'examine_requests',
        leases: held.map((record) => this.placed(record)),
        fromHostIds,
      })
      .then((notices) => {
        for (const notice of notices) this.actOnRequest(lockspace, notice.lease, notice.requestLver, notice.action);
      })
      .catch((error: unknown) =>
        this.logger.warn({ lockspace, err: toProtocolError(error).toWire() }, 'examining requests failed'),
      )
      .finally(() => this.manager.endResourceOp(ls));
  }

  private actOnRequest(lockspace: string, lease: PlacedLease, requestLver: bigint, action: string): void {
    const record = this.records.get(leaseKey(lockspace, lease.held.location.resourceName));
    if (record === undefined || record.state !== 'held') return;
    const reportKey = `${record.key}#${lease.held.lver}>${requestLver}/${action}`;
    if (this.reportedRequests.has(reportKey)) return;
    // Bounded: the oldest report is forgotten first (at worst a request is acted on twice).
    if (this.reportedRequests.size >= MAX_REPORTED_REQUESTS) {
      const oldest = this.reportedRequests.values().next();
      if (oldest.done !== true) this.reportedRequests.delete(oldest.value);
    }
    this.reportedRequests.add(reportKey);
    this.db.addHistory('request_received', { lockspace, resource: record.resource, details: { requestLver, action } });
    if (record.holder.kind === 'persistent') {
      this.logger.warn(
        { lockspace, resource: record.resource, action },
        'another host requests a persistent lease; release it to let it go',
      );
      return;
    }
    const { pid } = record.holder;
    if (!this.watch.isAlive(pid)) return;
    const command = killCommandFor(this.config, lockspace);
    const signal: NodeJS.Signals = action === 'kill' ? 'SIGKILL' : 'SIGTERM';
    this.logger.warn(
      { lockspace, resource: record.resource, clientPid: pid, action },
      'another host requests our lease: asking its holder to stop',
    );
    if (action === 'graceful' && command !== undefined) {
      void import('node:child_process').then(({ spawn }) => {
        const [file, ...args] = command;
        spawn(file!, [...args, lockspace, String(pid)], { stdio: 'ignore' }).on('error', () => undefined);
      });
      return;
    }
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }

  async request(request: RequestRequest): Promise<Record<string, unknown>> {
    const ls = this.manager.requireUsable(request.lockspace);
    this.manager.beginResourceOp(ls);
    const forceMode = request.forceMode === 'force' ? 1 : request.forceMode === 'graceful' ? 2 : 0;
    try {
      const result = await this.manager.resourceCall<{
        ownerId: bigint;
        lver: bigint;
        written: boolean;
        pinged: boolean;
      }>(ls, {
        type: 'request',
        where: { resource: request.resource, path: request.path, offsetBytes: request.offsetBytes },
        lver: request.lver === 'next' ? 0n : BigInt(request.lver),
        nextLver: request.lver === 'next',
        forceMode,
      });
      return {
        ownerId: Number(result.ownerId),
        lver: result.lver.toString(),
        written: result.written,
        pinged: result.pinged,
      };
    } catch (error) {
      throw toProtocolError(error);
    } finally {
      this.manager.endResourceOp(ls);
    }
  }

  // ------------------------------------------------------------------------------- adoption

  adoptStored(ls: Lockspace, stored: StoredLease[]): void {
    for (const row of stored) {
      const key = leaseKey(row.lockspace, row.resource);
      if (row.token === '') {
        void this.cleanIntent(ls, row);
        continue;
      }
      const held = decodeToken(row.token);
      const holder: Holder =
        row.holder === 'persistent'
          ? { kind: 'persistent' }
          : { kind: 'process', pid: row.pid ?? 0, startTime: row.pidStartTime ?? 0n, uid: 0 };
      const record: LeaseRecord = {
        key,
        lockspace: row.lockspace,
        resource: row.resource,
        path: row.path,
        offsetBytes: row.offsetBytes,
        mode: row.mode,
        holder,
        state: 'held',
        held,
        acquiredAt: row.acquiredAt,
      };
      this.add(record);
      const alive = holder.kind === 'persistent' || isSameProcessAlive(holder.pid, holder.startTime);
      if (alive) {
        this.watchHolder(holder);
        this.logger.info(
          { lockspace: row.lockspace, resource: row.resource, holder: describeHolderText(holder) },
          'adopted lease after restart',
        );
        this.db.addHistory('adopt', {
          lockspace: row.lockspace,
          resource: row.resource,
          ...(holder.kind === 'process' ? { pid: holder.pid } : {}),
        });
      } else {
        this.logger.info(
          { lockspace: row.lockspace, resource: row.resource, holder: describeHolderText(holder) },
          'holder recorded in state is gone: releasing its lease',
        );
        void this.releaseRecord(record, 'holder gone across restart');
      }
    }
  }

  /**
   * An acquire was in progress when the daemon died: the lease may be ours on disk with nobody
   * using it. Acquiring it as ourselves (our own lease with the same generation goes straight to a
   * ballot) and releasing it leaves it free; if another host has it, there is nothing to clean.
   */
  private async cleanIntent(ls: Lockspace, row: StoredLease): Promise<void> {
    this.db.deleteLease(
      row.lockspace,
      row.resource,
      row.holder === 'persistent' ? 'persistent' : `pid:${row.pid}:${row.pidStartTime}`,
    );
    if (this.records.has(leaseKey(row.lockspace, row.resource)) || !ls.usable) return;
    this.manager.beginResourceOp(ls);
    try {
      const held = await this.manager.resourceCall<HeldLease>(ls, {
        type: 'acquire',
        where: { resource: row.resource, path: row.path, offsetBytes: row.offsetBytes },
        mode: 'exclusive',
        waitSeconds: 0,
      });
      await this.manager.resourceCall(ls, { type: 'release', lease: { path: row.path, held } });
      this.logger.info(
        { lockspace: row.lockspace, resource: row.resource },
        'cleaned up an acquire interrupted by the restart',
      );
    } catch {
      // Not ours (or unreachable): nothing to clean.
    } finally {
      this.manager.endResourceOp(ls);
    }
  }

  // -------------------------------------------------------------------------------- helpers

  /** A held record's lease as the lane needs it (asserted: only held records are placed). */
  private placed(record: LeaseRecord): PlacedLease {
    const held = record.held;
    assert(held !== undefined, `${record.lockspace}:${record.resource} is placed only once held (is ${record.state})`);
    return { path: record.path, held };
  }

  private add(record: LeaseRecord): void {
    this.records.set(record.key, record);
    const key = holderKey(record.holder);
    let set = this.byHolder.get(key);
    if (set === undefined) {
      set = new Set();
      this.byHolder.set(key, set);
    }
    set.add(record);
  }

  private remove(record: LeaseRecord): void {
    if (this.records.get(record.key) === record) this.records.delete(record.key);
    const key = holderKey(record.holder);
    const set = this.byHolder.get(key);
    if (set !== undefined) {
      set.delete(record);
      if (set.size === 0) {
        this.byHolder.delete(key);
        this.unwatchHolder(record.holder);
      }
    }
    const waiters = this.releaseWaiters.get(record.key);
    if (waiters !== undefined) {
      this.releaseWaiters.delete(record.key);
      for (const wake of waiters) wake();
    }
  }

  private waitForLocalRelease(key: string, seconds: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.releaseWaiters.get(key) ?? new Set<() => void>();
      this.releaseWaiters.set(key, waiters);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, seconds * 1000));
      signal.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  private watchHolder(holder: Holder): void {
    if (holder.kind !== 'process') return;
    const key = holderKey(holder);
    if (this.watchedHolders.has(key)) return;
    const onExit = (): void => {
      this.watchedHolders.delete(key);
      this.onProcessExit(holder.pid, holder.startTime);
    };
    if (this.watch.watch(holder.pid, onExit)) this.watchedHolders.set(key, onExit);
    else this.onProcessExit(holder.pid, holder.startTime);
  }

  private unwatchHolder(holder: Holder): void {
    if (holder.kind !== 'process') return;
    const key = holderKey(holder);
    const onExit = this.watchedHolders.get(key);
    if (onExit === undefined) return;
    this.watchedHolders.delete(key);
    this.watch.unwatch(holder.pid, onExit);
  }

  private persist(record: LeaseRecord, token: string): void {
    this.db.putLease({
      lockspace: record.lockspace,
      resource: record.resource,
      path: record.path,
      offsetBytes: record.offsetBytes,
      mode: record.mode,
      lver: record.held?.lver ?? 0n,
      hostId: record.held?.hostId ?? 0,
      generation: record.held?.generation ?? 0n,
      holder: record.holder.kind,
      pid: record.holder.kind === 'process' ? record.holder.pid : null,
      pidStartTime: record.holder.kind === 'process' ? record.holder.startTime : null,
      token,
      acquiredAt: record.acquiredAt,
    });
  }

  private info(record: LeaseRecord): LeaseInfo {
    return {
      lockspace: record.lockspace,
      resource: record.resource,
      path: record.path,
      offsetBytes: record.offsetBytes,
      mode: record.mode,
      lver: (record.held?.lver ?? 0n).toString(),
      hostId: record.held?.hostId ?? 0,
      generation: (record.held?.generation ?? 0n).toString(),
      holder: record.holder.kind,
      ...(record.holder.kind === 'process' ? { pid: record.holder.pid } : {}),
      acquiredAt: record.acquiredAt,
    };
  }
}
