/**
 * The resource-lease requests of clients and of the daemon itself, as the host core executes them.
 *
 * A lease belongs to a holder: a client process (pid + start time, known from its socket's peer
 * credentials) or the daemon itself (persistent leases, which outlive the command that asked for
 * them). Which acquire is admitted, who may release or convert, when a lease is given back (its holder
 * exited, its requester went away), what a loss drops and what a restart adopts are the host core's
 * decisions (`@leasehold/host-core`); the lease I/O and rows are executed by the LeaseExecutor. What is
 * left here is the request's own conduct: an acquire that waits (retrying a busy lease, or waiting
 * for a local holder's release) until its deadline, value blocks, and what other hosts ask of our
 * leases (requests found through pings).
 */
import type { Holder as CoreHolder, LeaseRecord as CoreLeaseRecord } from '@leasehold/host-core';
import { holderKey, leaseKey, MAX_REPORTED_REQUESTS } from '@leasehold/host-core';
import { getValueBlock, isPaxosError, setValueBlock, type HeldLease, type Logger } from '@leasehold/lease';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import type { ClientProcess } from '../clients/client-registry.js';
import { readProcStat } from '../clients/proc.js';
import type { ProcessWatch } from '../clients/process-watch.js';
import type { PlacedLease } from '../lanes/lane-messages.js';
import type { LockspaceManager } from '../lockspaces/lockspace-manager.js';
import type { LockspaceUsers } from '../lockspaces/lockspace-users.js';
import { DaemonError } from '@leasehold/protocol';
import type {
  AcquireRequest,
  AcquireResult,
  ConvertRequest,
  GetLvbRequest,
  LeaseInfo,
  ReleaseRequest,
  RequestRequest,
  SetLvbRequest,
} from '@leasehold/protocol';
import type { StateDb } from '../state/state-db.js';
import { monotonicSeconds, sleepMs } from '../util/monotonic.js';
import { encodeToken } from '../util/wire.js';
import { describeHolderText, type Holder } from './holder.js';
import { BUSY_LEASE_CODES, toProtocolError } from './lease-errors.js';
import { LeaseExecutor } from './lease-executor.js';

/** Pause between attempts of an acquire that waits for a busy lease (plus up to the same again at random). */
export const ACQUIRE_RETRY_MS = 250;

export interface Requester {
  client: ClientProcess;
  signal: AbortSignal;
}

/** The lease layer's value-block refusals (not acquired with it, too big) as INVALID_ARGUMENT. */
function valueBlockError(error: unknown): DaemonError {
  return isPaxosError(error) ? new DaemonError('INVALID_ARGUMENT', error.message) : toProtocolError(error);
}

/** A lane failure that means "someone else has it right now" (by the lease layer's own code, kept in the details). */
function isBusy(error: DaemonError): boolean {
  const leaseCode = error.details?.['leaseCode'];
  return BUSY_LEASE_CODES.has(typeof leaseCode === 'string' ? leaseCode : error.code);
}

function coreHolder(holder: Holder): CoreHolder {
  return holder.kind === 'persistent'
    ? { kind: 'persistent' }
    : { kind: 'process', pid: holder.pid, startTime: holder.startTime };
}

export class LeaseRegistry implements LockspaceUsers {
  private readonly releaseWaiters = new Map<string, Set<() => void>>();
  private readonly reportedRequests = new Set<string>();

  constructor(
    private readonly manager: LockspaceManager,
    private readonly db: StateDb,
    private readonly watch: ProcessWatch,
    private readonly config: DaemonConfig,
    private readonly logger: Logger,
  ) {
    manager.leaseIo.onFreed((key) => this.wakeWaiters(key));
  }

  private get io(): LeaseExecutor {
    return this.manager.leaseIo;
  }

  // -------------------------------------------------------------------------------- queries

  all(): LeaseInfo[] {
    return this.manager
      .leaseRecords()
      .filter((record) => record.state !== 'acquiring')
      .map((record) => this.info(record));
  }

  heldBy(holder: Holder): LeaseInfo[] {
    const key = holderKey(coreHolder(holder));
    return this.manager
      .leaseRecords()
      .filter((record) => record.state !== 'acquiring' && holderKey(record.holder) === key)
      .map((record) => this.info(record));
  }

  countHeldBy(holder: Holder): number {
    const key = holderKey(coreHolder(holder));
    return this.manager.leaseRecords().filter((record) => holderKey(record.holder) === key).length;
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
    const waits = (request.waitSeconds ?? 0) > 0;
    for (;;) {
      if (requester.signal.aborted) throw new DaemonError('CLIENT_GONE', 'the client went away');
      // An acquire the restart interrupted is being given back: bounded (one acquire without
      // waiting, one release), so every acquire waits for it, whatever its own wait.
      if (this.manager.isCleaning(request.lockspace, request.resource)) {
        await this.waitForLocalRelease(key, Number.POSITIVE_INFINITY, requester.signal);
        continue;
      }
      const reply = await this.manager.acquireLease(
        { lockspace: request.lockspace, resource: request.resource, mode: request.mode, holder: coreHolder(holder) },
        {
          path: request.path,
          offsetBytes: request.offsetBytes,
          ownerWaitSeconds: Math.max(0, timeLeft()),
          lver: request.lver === undefined ? undefined : BigInt(request.lver),
          valueBlock: request.lvb === true,
          signal: requester.signal,
        },
      );
      if (reply.ok) {
        const record = this.manager.leaseRecord(request.lockspace, request.resource);
        if (record === undefined) throw new DaemonError('NOT_HELD', `${key} was released meanwhile`);
        return this.info(record);
      }
      const error = this.localBusy(LeaseExecutor.errorOf(reply.error), request.lockspace, request.resource);
      if (error.code === 'LEASE_HELD_LOCALLY') {
        if (timeLeft() <= 0) throw waits ? this.timeout(request, error) : error;
        await this.waitForLocalRelease(key, timeLeft(), requester.signal);
        continue;
      }
      if (!isBusy(error)) throw error;
      if (timeLeft() <= 0 || requester.signal.aborted) throw waits ? this.timeout(request, error) : error;
      await sleepMs(Math.min(timeLeft() * 1000, ACQUIRE_RETRY_MS + Math.random() * ACQUIRE_RETRY_MS));
    }
  }

  /** LEASE_HELD_LOCALLY with who holds it and how (the client prints them). */
  private localBusy(error: DaemonError, lockspace: string, resource: string): DaemonError {
    if (error.code !== 'LEASE_HELD_LOCALLY') return error;
    const record = this.manager.leaseRecord(lockspace, resource);
    if (record === undefined) return error;
    const holder = describeHolderText(
      record.holder.kind === 'persistent' ? record.holder : { ...record.holder, uid: 0 },
    );
    return new DaemonError(error.code, error.message, { holder, mode: record.mode });
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

  // ----------------------------------------------------------------------- release, convert

  async release(request: ReleaseRequest, client: ClientProcess): Promise<void> {
    const holder = coreHolder(this.holderFor(request, client));
    if (request.lvb !== undefined) this.setLvb({ ...request, data: request.lvb }, client);
    const reply = await this.manager.leaseRequest((reqId) => ({
      type: 'release',
      reqId,
      lockspace: request.lockspace,
      resource: request.resource,
      holder,
    }));
    if (!reply.ok) throw LeaseExecutor.errorOf(reply.error);
  }

  /** sanlock's set_lvb: kept with the held lease (and in state), written when it is released EX. */
  setLvb(request: Omit<SetLvbRequest, 'op'>, client: ClientProcess): void {
    const holder = coreHolder(this.holderFor(request, client));
    const held = this.ownedHeld(request.lockspace, request.resource, holder);
    let updated: HeldLease;
    try {
      updated = setValueBlock(held, Buffer.from(request.data, 'hex'));
    } catch (error) {
      throw valueBlockError(error);
    }
    const reply = this.manager.leaseRequestNow((reqId) => ({
      type: 'update_token',
      reqId,
      lockspace: request.lockspace,
      resource: request.resource,
      holder,
      token: encodeToken(updated),
    }));
    if (!reply.ok) throw LeaseExecutor.errorOf(reply.error);
  }

  /** sanlock's get_lvb: hex of the first `size` bytes (default the whole sector). */
  getLvb(request: Omit<GetLvbRequest, 'op'>, client: ClientProcess): string {
    const held = this.ownedHeld(request.lockspace, request.resource, coreHolder(this.holderFor(request, client)));
    try {
      return Buffer.from(getValueBlock(held, request.size ?? 0)).toString('hex');
    } catch (error) {
      throw valueBlockError(error);
    }
  }

  /** The lease `holder` holds (the core's refusal otherwise: starting, not held, not the owner, busy). */
  private ownedHeld(lockspace: string, resource: string, holder: CoreHolder): HeldLease {
    const refusal = this.manager.ownedRefusal(lockspace, resource, holder);
    if (refusal !== undefined) throw LeaseExecutor.errorOf(refusal);
    return this.io.placed(lockspace, resource).held;
  }

  async convert(request: ConvertRequest, requester: Requester): Promise<LeaseInfo> {
    const reply = await this.manager.leaseRequest((reqId) => ({
      type: 'convert',
      reqId,
      lockspace: request.lockspace,
      resource: request.resource,
      mode: request.mode,
      holder: coreHolder(this.holderFor(request, requester.client)),
    }));
    if (!reply.ok) throw LeaseExecutor.errorOf(reply.error);
    const record = this.manager.leaseRecord(request.lockspace, request.resource);
    if (record === undefined)
      throw new DaemonError('NOT_HELD', `${request.lockspace}:${request.resource} was released meanwhile`);
    return this.info(record);
  }

  // ------------------------------------------------------------------------------ pings

  onPings(lockspace: string, fromHostIds: number[]): void {
    const ls = this.manager.get(lockspace);
    if (ls === undefined || !ls.usable) return;
    const held = this.manager
      .leaseRecords()
      .filter((record) => record.lockspace === lockspace && record.state === 'held' && record.mode === 'EX')
      .flatMap((record) => {
        const placement = this.io.placement(record.lockspace, record.resource);
        return placement?.held === undefined ? [] : [{ path: placement.path, held: placement.held }];
      });
    if (held.length === 0) return;
    this.manager.beginResourceOp(ls);
    void this.manager
      .resourceCall<Array<{ lease: PlacedLease; requestLver: bigint; action: string }>>(ls, {
        type: 'examine_requests',
        leases: held,
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
    const record = this.manager.leaseRecord(lockspace, lease.held.location.resourceName);
    if (record === undefined || record.state !== 'held') return;
    const reportKey = `${leaseKey(lockspace, record.resource)}#${lease.held.lver}>${requestLver}/${action}`;
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

  // -------------------------------------------------------------------------------- helpers

  private wakeWaiters(key: string): void {
    const waiters = this.releaseWaiters.get(key);
    if (waiters === undefined) return;
    this.releaseWaiters.delete(key);
    for (const wake of waiters) wake();
  }

  private waitForLocalRelease(key: string, seconds: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.releaseWaiters.get(key) ?? new Set<() => void>();
      this.releaseWaiters.set(key, waiters);
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        resolve();
      };
      const timer = Number.isFinite(seconds) ? setTimeout(done, Math.max(0, seconds * 1000)) : undefined;
      signal.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  private info(record: CoreLeaseRecord): LeaseInfo {
    const placement = this.io.placement(record.lockspace, record.resource);
    const held = placement?.held;
    return {
      lockspace: record.lockspace,
      resource: record.resource,
      path: placement?.path ?? '',
      offsetBytes: placement?.offsetBytes ?? 0,
      mode: record.mode,
      lver: (held?.lver ?? 0n).toString(),
      hostId: held?.hostId ?? 0,
      generation: (held?.generation ?? 0n).toString(),
      holder: record.holder.kind,
      ...(record.holder.kind === 'process' ? { pid: record.holder.pid } : {}),
      acquiredAt: placement?.acquiredAt ?? '',
    };
  }
}
