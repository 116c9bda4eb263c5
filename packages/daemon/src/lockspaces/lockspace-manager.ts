/**
 * Lockspaces as the daemon runs them: the shell around the host core (etcd raft's style).
 *
 * Every decision of a lockspace's lifecycle is the host core's (`HostCore.step(event) -> actions`):
 * when a start goes on, which host_id it tries, when it counts as joined (only after the watchdog
 * companion acknowledged it), when the delta lease is lost (the core's own deadline, 8 x io_timeout
 * after the last renewal, even when a lane hung in a syscall says nothing), what a lockstop does, when
 * a bounded leave is given up, who is killed after a loss and when a start waits for holders of an
 * older generation. The simulator runs the same core. This class only executes the actions: lane
 * commands on the worker threads (renewal-executor.ts), watchdog messages, state rows in SQLite, kills
 * through KillAction, logs, replies to the requests waiting, and the one timer the core asks for
 * (`wake`, wake-timer.ts). What comes
 * back (a join or renewal result, an acknowledgement, a timer, a finished kill) goes in as an event.
 *
 * The resource leases go through the core too: the LeaseRegistry turns a client's request into an
 * event (acquire, convert, release, a value block's new token), the core admits or refuses it and
 * asks for the lane I/O and the rows, which the LeaseExecutor performs and answers with the result
 * events. A holder's exit, a requester gone, a loss and a restart's adoption are the core's to decide.
 */
import {
  assert,
  assertNever,
  HostCore,
  type CoreError,
  type Holder as CoreHolder,
  type HostAction,
  type HostEvent,
  type LaneCommand,
  type LeaseRecord,
  type LeaseRow,
  type LockspaceMachine,
  type LockspaceRow,
  type LockspaceStateKind,
  type Reply,
  type StateChange,
  type WatchdogMessage,
} from '@leasehold/host-core';
import type { DeltaEvent, Logger } from '@leasehold/lease';
import type { HostIdMap } from '../config/host-id-conf.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import type { KillAction } from '../leases/kill-action.js';
import { LeaseExecutor, type AcquireOffer } from '../leases/lease-executor.js';
import type { ProcessWatch } from '../clients/process-watch.js';
import { describeHolderText } from '../leases/holder.js';
import type { ResourceNote } from '../lanes/lane-messages.js';
import type { ResourceLane } from '../lanes/lane-pool.js';
import { DaemonError } from '@leasehold/protocol';
import type { LockspaceInfo, LockstartRequest, LockstopResult, ProgressInfo } from '@leasehold/protocol';
import type { StateDb, StoredLease } from '../state/state-db.js';
import { monotonicClock, monotonicSeconds } from '../util/monotonic.js';
import type { WatchdogLink } from '../watchdog/watchdog-link.js';
import { Lockspace } from './lockspace.js';
import type { LockspaceUsers } from './lockspace-users.js';
import { ResourceAttachments, type ResourceCall } from './resource-attachments.js';
import { RenewalExecutor } from './renewal-executor.js';
import { WakeTimer } from './wake-timer.js';
import { wireErrorOf } from './wire-error.js';

export { RESOURCE_LANE_IDLE_MS } from './resource-attachments.js';

export interface LockspaceManagerDeps {
  config: DaemonConfig;
  hostName: string;
  db: StateDb;
  hostIds: HostIdMap;
  watchdog: WatchdogLink;
  kill: KillAction;
  watch: ProcessWatch;
  logger: Logger;
}

export class LockspaceManager {
  private readonly core: HostCore;
  private readonly views = new Map<string, Lockspace>();
  private readonly renewals: RenewalExecutor;
  private readonly resources: ResourceAttachments;
  private readonly wake: WakeTimer;
  /** Executes the core's resource-lease actions (lane I/O, rows, holder watches). */
  readonly leaseIo: LeaseExecutor;
  private readonly listeners = new Set<LockspaceUsers>();
  private readonly replyWaiters = new Map<number, (reply: Reply) => void>();
  /** Lease rows recorded before a restart, by lockspace: adopted when the core resumes it. */
  private readonly recorded = new Map<string, StoredLease[]>();
  private readonly queue: HostEvent[] = [];
  private draining = false;
  private nextReqId = 1;
  private closing = false;
  private whenNoneStopping: (() => void) | undefined;
  /** Told of each delta-lease event received (shared extend's refresh, activations/shared-refresh.ts). */
  private eventListener: ((lockspace: string, event: DeltaEvent) => void) | undefined;

  constructor(private readonly deps: LockspaceManagerDeps) {
    this.core = new HostCore(monotonicClock, {
      ioTimeoutSeconds: deps.config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: deps.config.watchdogFireTimeoutSeconds,
      killGraceSeconds: deps.config.killGraceSeconds,
    });
    this.wake = new WakeTimer(monotonicClock, () => this.feed({ type: 'expiry_tick' }));
    this.renewals = new RenewalExecutor(deps.config, deps.hostName, deps.logger, {
      feed: (event) => this.feed(event),
      view: (name) => this.views.get(name),
      kindOf: (name) => this.core.lockspace(name)?.kind,
      detachResources: (ls, reason) => this.resources.detach(ls, reason),
      renewed: (ls, lastRenewalSeconds, hosts) =>
        this.resources.laneOf(ls.name)?.send({ type: 'renewed', lockspace: ls.name, lastRenewalSeconds, hosts }),
      pinged: (name, fromHostIds) => {
        for (const users of this.listeners) users.onPings?.(name, fromHostIds);
      },
      evented: (name, event) => this.eventListener?.(name, event),
    });
    this.leaseIo = new LeaseExecutor({
      db: deps.db,
      watch: deps.watch,
      logger: deps.logger,
      view: (lockspace) => this.views.get(lockspace),
      call: (ls, command, signal) => this.resources.call(ls, command, signal),
      begin: (ls) => this.resources.begin(ls),
      end: (ls) => this.resources.end(ls),
      step: (event) => this.stepLease(event),
      feed: (event) => this.feed(event),
      recorded: (lockspace, resource) => this.recorded.get(lockspace)?.find((row) => row.resource === resource),
      holds: (holder) => this.core.holds(holder),
    });
    this.resources = new ResourceAttachments(
      deps.config,
      deps.hostName,
      deps.logger,
      (lane, note) => this.onResourceNote(lane, note),
      (ls) => this.notUsable(ls),
      (name) => this.views.get(name),
    );
  }

  /**
   * Tells `users` what the core decided that concerns the leases they keep (loss, pings, adoption).
   * The manager decides nothing from them: the core's lease book is what counts.
   */
  onEvent(listener: (lockspace: string, event: DeltaEvent) => void): void {
    this.eventListener = listener;
  }

  subscribe(users: LockspaceUsers): () => void {
    this.listeners.add(users);
    return () => this.listeners.delete(users);
  }

  get(name: string): Lockspace | undefined {
    return this.views.get(name);
  }

  list(): Lockspace[] {
    return [...this.views.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  info(ls: Lockspace): LockspaceInfo {
    return ls.info(this.leasesIn(ls.name).length);
  }

  /** The lockspace, if its delta lease is held and within its deadline; otherwise a coded error. */
  requireUsable(name: string): Lockspace {
    const ls = this.views.get(name);
    if (ls === undefined)
      throw new DaemonError('NO_LOCKSPACE', `lockspace ${name} is not started on this host (use lockstart)`);
    if (ls.usable && this.core.usable(name)) return ls;
    switch (ls.state) {
      case 'starting':
        throw new DaemonError('LOCKSPACE_STARTING', `lockspace ${name} is still starting; retry, or lockstart --wait`);
      case 'stopping':
        throw new DaemonError('LOCKSPACE_STOPPING', `lockspace ${name} is stopping`);
      case 'failed':
        throw new DaemonError(
          'NO_LOCKSPACE',
          `lockspace ${name} failed to start: ${ls.error?.message ?? 'unknown error'}`,
        );
      case 'joined':
      case 'lost':
        throw new DaemonError(
          'LOCKSPACE_LOST',
          `lockspace ${name} lost its lease: ${ls.error?.message ?? 'renewal deadline passed'}; lockstop it, then lockstart again`,
        );
      default:
        return assertNever(ls.state, 'lockspace state');
    }
  }

  /** True when some lockspace holds leases (a clean shutdown would leave them unprotected). */
  hasLeases(): boolean {
    return this.core.leaseRecords().length > 0;
  }

  laneCounts(): { renewal: number; resource: number } {
    return { renewal: this.renewals.count(), resource: this.resources.count() };
  }

  // -------------------------------------------------------------------------------- lockstart

  async lockstart(request: LockstartRequest, onProgress?: (progress: ProgressInfo) => void): Promise<LockspaceInfo> {
    if (this.closing) throw new DaemonError('SHUTTING_DOWN', 'the daemon is shutting down');
    const name = request.lockspace;
    const before = this.core.lockspace(name);
    // Which host_id first is the core's rule (chooseHostId); only the lookups are I/O.
    const configured = typeof request.hostId === 'number' ? undefined : this.deps.hostIds.lookup(name);
    const remembered =
      typeof request.hostId === 'number' || configured !== undefined
        ? undefined
        : this.deps.db.rememberedHostId(name, request.path, request.offsetBytes);
    const reqId = this.nextReqId++;
    const answer = this.expectReply(reqId);
    this.feed({
      type: 'lockstart',
      reqId,
      name,
      path: request.path,
      offsetBytes: request.offsetBytes,
      hostIdRequest: request.hostId,
      ...(configured === undefined ? {} : { configuredHostId: configured }),
      ...(remembered === undefined ? {} : { rememberedHostId: remembered }),
    });
    const machine = this.core.lockspace(name);
    if (machine !== undefined && machine !== before)
      this.deps.db.addHistory('lockstart', {
        lockspace: name,
        details: { path: request.path, offsetBytes: request.offsetBytes, hostId: request.hostId },
      });
    const early = answer.early();
    if (early !== undefined && !early.ok) throw this.replyError(early.error);
    const ls = this.views.get(name);
    if (ls === undefined) throw new DaemonError('INTERNAL', `lockspace ${name} has no view after its lockstart`);
    if (request.wait !== true) return this.info(ls);
    const unsubscribe = onProgress === undefined ? undefined : ls.onProgress(onProgress);
    try {
      const reply = await answer.promise;
      if (!reply.ok) throw this.replyError(reply.error);
    } finally {
      unsubscribe?.();
    }
    return this.info(this.views.get(name) ?? ls);
  }

  /** Starts every lockspace recorded in state: resuming (and adopting) where the lease is still ours. */
  recoverAll(sameBoot: boolean): void {
    const lockspaces = this.deps.db.lockspaces().filter((stored) => stored.startAtBoot);
    const leases = this.deps.db.leases();
    const rows: LockspaceRow[] = lockspaces.map((stored) => ({
      name: stored.name,
      path: stored.path,
      offsetBytes: stored.offsetBytes,
      hostIdRequest: stored.hostIdRequest,
      hostId: stored.hostId,
      generation: stored.generation,
      state: rowState(stored.state),
    }));
    if (sameBoot)
      for (const lease of leases)
        this.recorded.set(lease.lockspace, [...(this.recorded.get(lease.lockspace) ?? []), lease]);
    this.feed({ type: 'state_loaded', lockspaces: rows, leases: leases.map(leaseRowOf), sameBoot });
    for (const stored of lockspaces) {
      this.deps.logger.info(
        {
          lockspace: stored.name,
          resumable: sameBoot && stored.state === 'joined' && stored.hostId !== null && stored.generation !== null,
          leases: this.recorded.get(stored.name)?.length ?? 0,
        },
        'restarting lockspace recorded in state',
      );
    }
  }

  // --------------------------------------------------------------------------------- lockstop

  async lockstop(name: string, wait: boolean): Promise<LockstopResult> {
    const machine = this.core.lockspace(name);
    const from = machine?.kind;
    const reqId = this.nextReqId++;
    const answer = this.expectReply(reqId);
    this.feed({ type: 'lockstop', reqId, name });
    const early = answer.early();
    if (early !== undefined && !early.ok) throw this.replyError(early.error, name);
    if (from === 'lost' || from === 'stopped' || from === 'starting') {
      // The admin's stop says the persistent users of the lockspace are stopped (the core dropped
      // them from its kill plan): the kill action stops waiting for them, and their rows go, so that
      // a later start does not wait for them again.
      this.deps.kill.dropPersistent(name);
      if (from !== 'starting')
        for (const lease of this.deps.db.leases(name))
          if (lease.holder === 'persistent') this.deps.db.deleteLease(name, lease.resource, 'persistent');
    }
    if (from === 'lost' || from === 'stopped')
      this.deps.db.addHistory('lockstop', { lockspace: name, details: { from: from === 'stopped' ? 'failed' : from } });
    if (early !== undefined) return { lockspace: name, state: 'stopped' };
    if (!wait) return { lockspace: name, state: 'stopping' };
    const reply = await answer.promise;
    if (!reply.ok) throw this.replyError(reply.error, name);
    return { lockspace: name, state: 'stopped' };
  }

  /** Leaves every joined lockspace that holds no leases (clean shutdown). */
  async shutdown(): Promise<void> {
    this.closing = true;
    const allLeft = new Promise<void>((resolve) => {
      this.whenNoneStopping = resolve;
    });
    this.feed({ type: 'shutdown' });
    this.checkNoneStopping();
    // The core bounds every leave (a hung device): this ends.
    await allLeft;
    this.wake.close();
    this.renewals.terminateAll();
    this.resources.terminateAll();
  }

  // ------------------------------------------------------------------------- resource leases

  /**
   * Asks the core for an acquire with the I/O options the executor needs for it; resolves with the
   * core's answer (at once for a refusal, after the lane's acquire otherwise).
   */
  acquireLease(
    lease: { lockspace: string; resource: string; mode: 'EX' | 'SH'; holder: CoreHolder },
    offer: AcquireOffer,
  ): Promise<Reply> {
    const withdraw = this.leaseIo.offer(lease.lockspace, lease.resource, offer);
    try {
      return this.leaseRequest((reqId) => ({ type: 'acquire', reqId, ...lease }));
    } finally {
      // A refused acquire never took it.
      withdraw();
    }
  }

  /** Steps the core with a lease request at once; resolves with its answer, whenever it comes. */
  leaseRequest(event: (reqId: number) => HostEvent): Promise<Reply> {
    return this.stepLeaseRequest(event).answer.promise;
  }

  /** A lease request the core answers within its step (a new token for a held lease). */
  leaseRequestNow(event: (reqId: number) => HostEvent): Reply {
    const { type, answer } = this.stepLeaseRequest(event);
    const reply = answer.early();
    assert(reply !== undefined, `the core answers ${type} within its step`);
    return reply;
  }

  private stepLeaseRequest(event: (reqId: number) => HostEvent): {
    type: HostEvent['type'];
    answer: ReturnType<LockspaceManager['expectReply']>;
  } {
    const reqId = this.nextReqId++;
    const answer = this.expectReply(reqId);
    const stepped = event(reqId);
    this.stepLease(stepped);
    return { type: stepped.type, answer };
  }

  leaseRecords(): readonly LeaseRecord[] {
    return this.core.leaseRecords();
  }

  leaseRecord(lockspace: string, resource: string): Readonly<LeaseRecord> | undefined {
    return this.core.leaseRecord(lockspace, resource);
  }

  ownedRefusal(lockspace: string, resource: string, holder: CoreHolder): CoreError | undefined {
    return this.core.ownedRefusal(lockspace, resource, holder);
  }

  isCleaning(lockspace: string, resource: string): boolean {
    return this.core.isCleaning(lockspace, resource);
  }

  // -------------------------------------------------------------------------- resource lanes

  resourceCall<T>(ls: Lockspace, command: ResourceCall, signal?: AbortSignal): Promise<T> {
    return this.resources.call<T>(ls, command, signal);
  }

  beginResourceOp(ls: Lockspace): void {
    this.resources.begin(ls);
  }

  endResourceOp(ls: Lockspace): void {
    this.resources.end(ls);
  }

  async setEvent(
    name: string,
    hostId: number,
    event: bigint,
    data: bigint,
    generation: bigint,
    replace: boolean,
  ): Promise<void> {
    this.requireUsable(name);
    const lane = this.renewals.laneOf(name);
    if (lane === undefined) throw new DaemonError('LOCKSPACE_LOST', `lockspace ${name} has no renewal lane`);
    await lane.call({ type: 'set_event', lockspace: name, hostId, event, data, generation, replace });
  }

  /** The kill action finished: nobody uses the lockspace's leases any more. */
  onClean(name: string): void {
    for (const holder of this.core.killPending(name)) this.feed({ type: 'kill_done', name, holder });
  }

  // ------------------------------------------------------------------------------- the shell

  /** Steps the core with `event` (queued while another step's actions run) and executes its actions. */
  private feed(event: HostEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.run(next);
    } finally {
      this.draining = false;
    }
  }

  /**
   * Steps the core at once with a lease event (also inside another step's actions) and executes its
   * actions. Lease events change no lockspace's state: nothing to observe.
   */
  private stepLease(event: HostEvent): void {
    for (const action of this.core.step(event)) this.execute(action);
  }

  private run(event: HostEvent): void {
    const before = new Map<string, { machine: LockspaceMachine; kind: LockspaceStateKind }>();
    for (const name of this.core.lockspaceNames()) {
      const machine = this.core.lockspace(name);
      if (machine !== undefined) before.set(name, { machine, kind: machine.kind });
    }
    const actions = this.core.step(event);
    // Views first: actions refer to the lockspaces the step created.
    for (const name of this.core.lockspaceNames()) this.viewOf(name);
    for (const action of actions) this.execute(action);
    this.observe(before);
  }

  private execute(action: HostAction): void {
    switch (action.type) {
      case 'lane':
        this.laneCommand(action.command);
        return;
      case 'reply': {
        const waiter = this.replyWaiters.get(action.reply.reqId);
        this.replyWaiters.delete(action.reply.reqId);
        waiter?.(action.reply);
        return;
      }
      case 'kill':
        this.kill(action);
        return;
      case 'watch_holder':
        this.leaseIo.watchHolder(action.holder);
        return;
      case 'watchdog':
        this.watchdogMessage(action.message);
        return;
      case 'state':
        this.stateChange(action.change);
        return;
      case 'wake':
        this.wake.wakeAt(action.atSeconds);
        return;
      case 'log':
        this.deps.logger[action.level]({ lockspace: action.name }, action.message);
        return;
      default:
        assertNever(action, 'host action');
    }
  }

  /** The view of each lockspace the core runs (a new one when the core began it again). */
  private viewOf(name: string): Lockspace | undefined {
    const machine = this.core.lockspace(name);
    if (machine === undefined) return undefined;
    const existing = this.views.get(name);
    if (existing !== undefined && existing.core === machine) return existing;
    if (existing !== undefined) this.retire(existing);
    const { spec } = machine;
    const ls = new Lockspace(
      name,
      spec.path,
      spec.offsetBytes,
      spec.hostIdRequest,
      this.deps.config.ioTimeoutSeconds,
      this.deps.config.watchdogFireTimeoutSeconds,
      monotonicClock,
      machine,
    );
    this.views.set(name, ls);
    return ls;
  }

  /** A view whose machine the core no longer runs. */
  private retire(ls: Lockspace): void {
    this.resources.detach(ls, 'forgotten');
    if (this.views.get(ls.name) === ls) this.views.delete(ls.name);
  }

  /** What the step changed, for logs, history, the registry and requests waiting for a start. */
  private observe(before: Map<string, { machine: LockspaceMachine; kind: LockspaceStateKind }>): void {
    for (const [name, was] of before) {
      const machine = this.core.lockspace(name);
      if (machine === was.machine) continue;
      const view = this.views.get(name);
      if (was.kind === 'stopping' || was.kind === 'starting') {
        this.deps.db.addHistory('lockstop', { lockspace: name });
        this.deps.logger.info({ lockspace: name }, 'lockspace stopped');
      }
      if (view !== undefined && view.core === was.machine) this.retire(view);
    }
    for (const name of this.core.lockspaceNames()) {
      const ls = this.views.get(name);
      if (ls === undefined) continue;
      const was = before.get(name);
      const previous = was !== undefined && was.machine === ls.core ? was.kind : undefined;
      ls.followCore();
      const now = ls.core.kind;
      if (now === previous) continue;
      if (now === 'joined') this.onJoined(ls);
      else if (now === 'lost') this.onLost(ls);
      else if (now === 'stopped') this.onStartFailed(ls);
    }
    this.checkNoneStopping();
  }

  private onJoined(ls: Lockspace): void {
    const facts = ls.joinedFacts();
    this.deps.db.addHistory('joined', {
      lockspace: ls.name,
      details: { hostId: facts.hostId, generation: facts.generation, source: ls.hostIdSource },
    });
    this.deps.logger.info(
      {
        lockspace: ls.name,
        hostId: facts.hostId,
        generation: facts.generation.toString(),
        source: ls.hostIdSource,
        seconds: monotonicSeconds() - ls.startedAtSeconds,
      },
      'lockspace joined',
    );
    ls.progress('joined', `joined with host_id ${facts.hostId} generation ${facts.generation}`);
    const recorded = this.recorded.get(ls.name);
    this.recorded.delete(ls.name);
    if (recorded !== undefined && ls.hostIdSource === 'restored') {
      this.leaseIo.adopt(recorded);
      for (const users of this.listeners) users.adoptStored?.(ls, recorded);
    }
    ls.markStarted();
  }

  private onLost(ls: Lockspace): void {
    const error = ls.error ?? { code: 'LEASE_LOST', message: 'lost' };
    const holders = this.core.killPending(ls.name);
    this.deps.db.addHistory('lease_lost', {
      lockspace: ls.name,
      details: {
        code: error.code,
        message: error.message,
        pids: holders.flatMap((holder) => (holder.kind === 'process' ? [holder.pid] : [])),
        persistent: holders.some((holder) => holder.kind === 'persistent'),
      },
    });
    // The core dropped the lockspace's leases: no disk I/O for them any more.
    this.leaseIo.dropForLoss(ls.name);
  }

  private onStartFailed(ls: Lockspace): void {
    const error = ls.error ?? { code: 'LOCKSPACE_STOPPING', message: `lockspace ${ls.name} was stopped` };
    this.recorded.delete(ls.name);
    this.deps.db.addHistory('lockstart_failed', { lockspace: ls.name, details: { ...error } });
    ls.markStartFailed(new DaemonError(error.code, error.message));
  }

  private checkNoneStopping(): void {
    if (this.whenNoneStopping === undefined) return;
    const busy = this.core.lockspaceNames().some((name) => this.core.lockspace(name)?.kind === 'stopping');
    if (busy) return;
    const resolve = this.whenNoneStopping;
    this.whenNoneStopping = undefined;
    resolve();
  }

  private expectReply(reqId: number): { promise: Promise<Reply>; early: () => Reply | undefined } {
    let early: Reply | undefined;
    const promise = new Promise<Reply>((resolve) => {
      this.replyWaiters.set(reqId, (reply) => {
        early = reply;
        resolve(reply);
      });
    });
    return { promise, early: () => early };
  }

  private replyError(error: CoreError, lockspace?: string): DaemonError {
    if (error.code === 'LOCKSPACE_BUSY' && lockspace !== undefined)
      return new DaemonError(error.code, error.message, {
        holders: this.leasesIn(lockspace).map((record) => ({
          resource: record.resource,
          holder: describeCoreHolder(record.holder),
        })),
      });
    return new DaemonError(error.code, error.message);
  }

  private leasesIn(lockspace: string): ReturnType<HostCore['leaseRecords']>[number][] {
    return this.core.leaseRecords().filter((record) => record.lockspace === lockspace);
  }

  private notUsable(ls: Lockspace): DaemonError {
    try {
      this.requireUsable(ls.name);
    } catch (error) {
      if (error instanceof DaemonError) return error;
    }
    return new DaemonError('LOCKSPACE_LOST', `lockspace ${ls.name} is not usable`);
  }

  // ------------------------------------------------------------------------ executing actions

  private watchdogMessage(message: WatchdogMessage): void {
    const { watchdog } = this.deps;
    const ack = (step: 'prepare' | 'add', work: Promise<void>): void => {
      work.then(
        () => this.feed({ type: 'companion_ack', name: message.name, step, ok: true }),
        (error: unknown) =>
          this.feed({
            type: 'companion_ack',
            name: message.name,
            step,
            ok: false,
            message: wireErrorOf(error).message,
          }),
      );
    };
    switch (message.type) {
      case 'prepare':
        ack('prepare', watchdog.prepareLockspace(message.name));
        return;
      case 'add':
        ack('add', watchdog.lockspaceAdded(message.name, message.expiresAtSeconds));
        return;
      case 'renew':
        watchdog.lockspaceRenewed(message.name, message.expiresAtSeconds);
        return;
      case 'lost':
        watchdog.lockspaceLost(message.name);
        return;
      case 'remove':
        watchdog.lockspaceRemoved(message.name);
        return;
      default:
        assertNever(message, 'watchdog message');
    }
  }

  private stateChange(change: StateChange): void {
    const { db } = this.deps;
    switch (change.type) {
      case 'put_lockspace':
        db.upsertLockspace({ ...change.row, startAtBoot: true });
        return;
      case 'delete_lockspace':
        db.deleteLockspace(change.name);
        return;
      case 'put_lease':
      case 'delete_lease':
        this.leaseIo.state(change);
        return;
      case 'delete_leases_of':
        db.deleteLeasesOf(change.lockspace);
        return;
      case 'remember_host_id':
      case 'forget_host_id': {
        const spec = this.core.lockspace(change.name)?.spec;
        if (spec === undefined) return;
        if (change.type === 'remember_host_id')
          db.rememberHostId(change.name, spec.path, spec.offsetBytes, change.hostId);
        else db.forgetHostId(change.name, spec.path, spec.offsetBytes);
        return;
      }
      default:
        assertNever(change, 'state change');
    }
  }

  /**
   * The core's kill plan: 'term' starts the campaign in KillAction (SIGTERM or the lockspace's kill
   * command, the persistent users through the command or the activation loss handler); its repeated
   * 'term' rounds during the grace period are SIGTERMs again (not with a kill command), and each
   * 'kill' round after it (once a second while a holder is left) a SIGKILL for the holders it names. KillAction's "clean" comes back as kill_done for the holders the core still
   * waits for.
   */
  private kill(action: Extract<HostAction, { type: 'kill' }>): void {
    const victims = action.holders.flatMap((holder) =>
      holder.kind === 'process' ? [{ pid: holder.pid, startTime: holder.startTime }] : [],
    );
    if (action.signal === 'kill') {
      this.deps.kill.killRound(action.name, victims);
      return;
    }
    if (action.repeat === true) {
      this.deps.kill.termRound(action.name, victims);
      return;
    }
    const name = action.name;
    const persistent = action.holders.some((holder) => holder.kind === 'persistent');
    const persistentResources = persistent
      ? this.deps.db
          .leases(name)
          .filter((lease) => lease.holder === 'persistent' && lease.token !== '')
          .map((lease) => lease.resource)
      : [];
    const ls = this.views.get(name);
    if (ls?.core.kind === 'starting') {
      ls.progress(
        'wait-old-holders',
        `waiting for ${action.holders.length} user(s) of the previous generation to stop`,
      );
    }
    this.deps.kill.start({
      lockspace: name,
      processes: victims,
      persistentResources,
      command: killCommandFor(this.deps.config, name),
      graceSeconds: this.deps.config.killGraceSeconds,
      timing: 'core',
    });
    // A persistent holder with no recorded lease has nothing to stop.
    if (persistent && persistentResources.length === 0)
      this.feed({ type: 'kill_done', name, holder: { kind: 'persistent' } });
  }

  private laneCommand(command: LaneCommand): void {
    switch (command.type) {
      case 'acquire':
      case 'convert':
      case 'release':
      case 'clean_intent':
        this.leaseIo.lane(command);
        return;
      default:
        this.renewals.execute(command);
    }
  }

  private onResourceNote(lane: ResourceLane, note: ResourceNote): void {
    if (note.type !== 'ping_host') return;
    const ls = this.views.get(note.lockspace);
    if (ls?.state === 'joined' && this.resources.laneOf(ls.name) === lane) {
      this.renewals.laneOf(ls.name)?.send({ type: 'ping_host', lockspace: ls.name, hostId: note.hostId });
    }
  }
}

/** The stored state of a lockspace row as the core knows them ('failed' is a stopped start). */
function rowState(state: string): LockspaceRow['state'] {
  switch (state) {
    case 'starting':
    case 'joined':
    case 'lost':
    case 'stopping':
    case 'stopped':
      return state;
    default:
      return 'stopped';
  }
}

function leaseRowOf(lease: StoredLease): LeaseRow {
  return {
    lockspace: lease.lockspace,
    resource: lease.resource,
    mode: lease.mode,
    holder:
      lease.holder === 'persistent'
        ? { kind: 'persistent' }
        : { kind: 'process', pid: lease.pid ?? 0, startTime: lease.pidStartTime ?? 0n },
    token: lease.token,
  };
}

/** For LOCKSPACE_BUSY's details: who holds what (the registry's wording). */
function describeCoreHolder(holder: CoreHolder): string {
  return holder.kind === 'persistent'
    ? describeHolderText({ kind: 'persistent' })
    : describeHolderText({ ...holder, uid: 0 });
}

export { wireErrorOf } from './wire-error.js';
