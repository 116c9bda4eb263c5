/**
 * Lockspaces as the daemon runs them: the shell around the host core (etcd raft's style).
 *
 * Every decision of a lockspace's lifecycle is the host core's (`HostCore.step(event) -> actions`):
 * when a start goes on, which host_id it tries, when it counts as joined (only after the watchdog
 * companion acknowledged it), when the delta lease is lost (the core's own deadline, 8 x io_timeout
 * after the last renewal, even when a lane hung in a syscall says nothing), what a lockstop does, when
 * a bounded leave is given up, who is killed after a loss and when a start waits for holders of an
 * older generation. The simulator runs the same core. This class only executes the actions: lane
 * commands on the worker threads, watchdog messages, state rows in SQLite, kills through KillAction,
 * logs, replies to the requests waiting, and the one timer the core asks for (`wake`). What comes
 * back (a join or renewal result, an acknowledgement, a timer, a finished kill) goes in as an event.
 *
 * The resource leases are the LeaseRegistry's to acquire and release (it has the I/O details the core
 * does not keep: paths, Paxos tokens, value blocks, waits); it reports each step to the core through
 * the lease* methods here, so that the core's book of who holds what, which lockstop, loss, shutdown
 * and restart decide on, is the registry's. The lease I/O and rows the core asks for are therefore
 * the registry's own, not executed twice here.
 */
import {
  assertNever,
  HostCore,
  RESUME_MARGIN_IO_TIMEOUTS,
  type CoreError,
  type Holder as CoreHolder,
  type HostAction,
  type HostEvent,
  type LaneCommand,
  type LeaseRow,
  type LockspaceMachine,
  type LockspaceRow,
  type LockspaceStateKind,
  type Reply,
  type StateChange,
  type WatchdogMessage,
} from '@leasehold/host-core';
import { classifyError } from '@leasehold/errors';
import type { Logger } from '@leasehold/lease';
import type { HostIdMap } from '../config/host-id-conf.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import type { KillAction } from '../leases/kill-action.js';
import { describeHolderText, type Holder } from '../leases/holder.js';
import type { JoinedReply, RenewalNote, ResourceNote, SlotsReply } from '../lanes/lane-messages.js';
import { LaneFailure, type WithoutReqId } from '../lanes/lane.js';
import type { RenewalCommand } from '../lanes/lane-messages.js';
import type { ResourceLane } from '../lanes/lane-pool.js';
import { RenewalLanes, type RenewalLane } from '../lanes/renewal-lanes.js';
import { DaemonError, type WireError } from '@leasehold/protocol';
import type { LockspaceInfo, LockstartRequest, LockstopResult, ProgressInfo } from '@leasehold/protocol';
import type { StateDb, StoredLease } from '../state/state-db.js';
import { monotonicClock, monotonicSeconds } from '../util/monotonic.js';
import { jsonSafe } from '../util/wire.js';
import type { WatchdogLink } from '../watchdog/watchdog-link.js';
import { pickHostIdAndJoin } from './host-id-picker.js';
import { Lockspace, MovedError } from './lockspace.js';
import type { LockspaceUsers } from './lockspace-users.js';
import { ResourceAttachments, type DistributiveOmit, type ResourceCall } from './resource-attachments.js';
import { WakeTimer } from './wake-timer.js';

export { RESOURCE_LANE_IDLE_MS } from './resource-attachments.js';

export interface LockspaceManagerDeps {
  config: DaemonConfig;
  hostName: string;
  db: StateDb;
  hostIds: HostIdMap;
  watchdog: WatchdogLink;
  kill: KillAction;
  logger: Logger;
}

/** A join, pick or resume in flight on a renewal lane (one per lockspace). */
interface PendingJoin {
  token: number;
  command: Extract<LaneCommand, { type: 'join' | 'pick_and_join' | 'resume' }>;
}

export class LockspaceManager {
  private readonly core: HostCore;
  private readonly views = new Map<string, Lockspace>();
  private readonly renewal: RenewalLanes;
  private readonly resources: ResourceAttachments;
  private readonly wake: WakeTimer;
  private readonly listeners = new Set<LockspaceUsers>();
  private readonly replyWaiters = new Map<number, (reply: Reply) => void>();
  private readonly joins = new Map<string, PendingJoin>();
  private readonly leaves = new Map<string, number>();
  /** Lease rows recorded before a restart, by lockspace: adopted when the core resumes it. */
  private readonly recorded = new Map<string, StoredLease[]>();
  private readonly queue: HostEvent[] = [];
  private draining = false;
  private nextReqId = 1;
  private nextToken = 1;
  private closing = false;
  private whenNoneStopping: (() => void) | undefined;

  constructor(private readonly deps: LockspaceManagerDeps) {
    this.core = new HostCore(monotonicClock, {
      ioTimeoutSeconds: deps.config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: deps.config.watchdogFireTimeoutSeconds,
      killGraceSeconds: deps.config.killGraceSeconds,
    });
    this.wake = new WakeTimer(monotonicClock, () => this.feed({ type: 'expiry_tick' }));
    this.renewal = new RenewalLanes(
      deps.logger,
      deps.config.testFaultDir,
      deps.config.logLevel,
      {
        onNote: (lane, note) => this.onRenewalNote(lane, note),
        onMoved: (names) => this.onMoved(names),
        onLaneExit: (names, error) => {
          for (const name of names) {
            if (this.core.lockspace(name)?.kind !== 'joined') continue;
            this.feed({
              type: 'renewal_result',
              name,
              result: {
                ok: false,
                error: {
                  code: 'LANE_FAILED',
                  message: `the renewal lane of ${name} stopped${error ? `: ${error.message}` : ''}`,
                },
              },
            });
          }
        },
      },
      deps.config.lanes === 'per-device',
    );
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
    return { ...this.renewal.counts(), resource: this.resources.count() };
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
    this.renewal.terminateAll();
    this.resources.terminateAll();
  }

  // ----------------------------------------------------------------------- the registry's leases

  /**
   * The registry is about to acquire `resource` for `holder`: the core admits it (the intent is on
   * its book) or refuses with a coded error.
   */
  leaseAcquiring(lockspace: string, resource: string, mode: 'EX' | 'SH', holder: Holder): void {
    const reply = this.stepForReply((reqId) => ({
      type: 'acquire',
      reqId,
      lockspace,
      resource,
      mode,
      holder: coreHolder(holder),
    }));
    if (reply !== undefined && !reply.ok) throw this.replyError(reply.error);
  }

  /** The registry's acquire ended: held (with the token it keeps) or failed. */
  leaseAcquired(lockspace: string, resource: string, result: { token: string } | { error: WireError }): void {
    this.stepForReply(() => ({
      type: 'acquire_result',
      lockspace,
      resource,
      result: 'token' in result ? { ok: true, token: result.token } : { ok: false, error: coreError(result.error) },
    }));
  }

  /** The registry begins to release a lease it holds (or gives back one nobody wants). */
  leaseReleasing(lockspace: string, resource: string, holder: Holder): void {
    this.stepForReply((reqId) => ({ type: 'release', reqId, lockspace, resource, holder: coreHolder(holder) }));
  }

  /** The registry's release ended (on disk, or forgotten: it expires with our host_id). */
  leaseReleased(lockspace: string, resource: string): void {
    this.stepForReply(() => ({ type: 'release_result', lockspace, resource }));
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
    const lane = this.renewal.laneOf(name);
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
   * Steps the core at once with a lease event (also inside another step's actions) and returns the
   * reply to the request it makes, if the core answered it in this step.
   */
  private stepForReply(event: (reqId: number) => HostEvent): Reply | undefined {
    const reqId = this.nextReqId++;
    let reply: Reply | undefined;
    this.replyWaiters.set(reqId, (answer) => {
      reply = answer;
    });
    // Lease events change no lockspace's state: nothing to observe, only actions to execute.
    for (const action of this.core.step(event(reqId))) this.execute(action);
    // Answered later (an acquire's or release's result): nobody waits for that reply.
    this.replyWaiters.set(reqId, () => undefined);
    if (reply !== undefined) this.replyWaiters.delete(reqId);
    return reply;
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
        // The registry watches the processes that hold its leases (pidfd) and releases on exit.
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
    if (recorded !== undefined && ls.hostIdSource === 'restored')
      for (const users of this.listeners) users.adoptStored(ls, recorded);
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
    // The registry forgets the lockspace's leases without any disk I/O.
    for (const users of this.listeners) users.dropForLoss(ls.name);
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
        // The registry writes its lease rows itself, with what the core does not keep (path, lver, token).
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
   * The core's kill plan. 'term' starts the campaign in KillAction (SIGTERM or the lockspace's kill
   * command, the persistent users through the command); KillAction escalates to SIGKILL after the
   * grace period itself, so the core's later 'kill' rounds need nothing more here. KillAction's
   * "clean" comes back as kill_done for the holders the core still waits for.
   */
  private kill(action: Extract<HostAction, { type: 'kill' }>): void {
    if (action.signal !== 'term') return;
    const name = action.name;
    const processes = action.holders.flatMap((holder) =>
      holder.kind === 'process' ? [{ pid: holder.pid, startTime: holder.startTime }] : [],
    );
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
      processes,
      persistentResources,
      command: killCommandFor(this.deps.config, name),
      graceSeconds: this.deps.config.killGraceSeconds,
    });
    // A persistent holder with no recorded lease has nothing to stop.
    if (persistent && persistentResources.length === 0)
      this.feed({ type: 'kill_done', name, holder: { kind: 'persistent' } });
  }

  private laneCommand(command: LaneCommand): void {
    switch (command.type) {
      case 'join':
      case 'pick_and_join':
      case 'resume':
        this.startJoin(command);
        return;
      case 'cancel_join':
        this.cancelJoin(command.name);
        return;
      case 'leave':
        this.leave(command.name);
        return;
      case 'abandon':
        this.abandon(command.name);
        return;
      case 'acquire':
      case 'release':
      case 'clean_intent':
        // The registry performs these itself (it asked the core first, through the lease* methods).
        return;
      default:
        assertNever(command, 'lane command');
    }
  }

  private startJoin(command: PendingJoin['command']): void {
    const name = command.name;
    const ls = this.views.get(name);
    if (ls === undefined) return;
    const pending: PendingJoin = { token: this.nextToken++, command };
    this.joins.set(name, pending);
    const current = (): boolean => this.joins.get(name) === pending;
    const lane = (): RenewalLane | undefined => this.renewal.laneOf(name);
    let work: Promise<JoinedReply>;
    try {
      work = this.joinWork(ls, command, current);
    } catch (error) {
      work = Promise.reject(error);
    }
    const usedLane = lane();
    work.then(
      (joined) => {
        if (!current()) {
          this.staleJoinSettled(name, usedLane, true);
          return;
        }
        this.joins.delete(name);
        ls.geometry = joined.geometry;
        if (ls.hosts.length === 0) ls.hosts = joined.hosts;
        this.feed({
          type: 'join_result',
          name,
          result: {
            ok: true,
            facts: {
              hostId: joined.hostId,
              generation: joined.generation,
              lastRenewalSeconds: joined.lastRenewalSeconds,
            },
          },
        });
      },
      (error: unknown) => {
        if (!current()) {
          this.staleJoinSettled(name, usedLane, false);
          return;
        }
        if (error instanceof MovedError) {
          // The lane stalled on another device meanwhile: the same command again on a new lane (a
          // join that already wrote finds our own name there and takes the fast reacquire).
          this.deps.logger.info(
            { lockspace: name },
            'renewal lane stalled during the start: starting again on another lane',
          );
          this.startJoin(command);
          return;
        }
        this.joins.delete(name);
        const wire = wireErrorOf(error);
        if (command.type === 'resume')
          this.deps.logger.warn(
            { lockspace: name, hostId: command.hostId, err: wire },
            'cannot resume the delta lease; joining again',
          );
        this.renewal.leave(name);
        this.feed({ type: 'join_result', name, result: { ok: false, error: coreError(wire) } });
      },
    );
  }

  private joinWork(ls: Lockspace, command: PendingJoin['command'], current: () => boolean): Promise<JoinedReply> {
    const { hostName, logger } = this.deps;
    const joinWith = (hostId: number, onlyIfFree: boolean, giveUpWhenRenewed: boolean): Promise<JoinedReply> => {
      ls.hostId = hostId;
      ls.progress('acquire-host-id', `acquiring host_id ${hostId}`, 2 * ls.ioTimeoutSeconds);
      return this.callRenewal<JoinedReply>(ls, {
        type: 'join',
        config: ls.deltaConfig(hostId, hostName),
        path: ls.path,
        onlyIfFree,
        giveUpWhenRenewed,
      });
    };
    switch (command.type) {
      case 'resume':
        ls.progress('resume', `resuming host_id ${command.hostId} generation ${command.generation}`);
        return this.callRenewal<JoinedReply>(ls, {
          type: 'resume',
          config: ls.deltaConfig(command.hostId, hostName),
          path: ls.path,
          generation: command.generation,
          // Enough of the 8N window must be left to renew before the deadline.
          minimumRemainingSeconds: RESUME_MARGIN_IO_TIMEOUTS * ls.ioTimeoutSeconds,
        });
      case 'join':
        return joinWith(command.hostId, command.onlyIfFree, false);
      case 'pick_and_join':
        ls.progress('pick-host-id', 'choosing a free host_id');
        return pickHostIdAndJoin(
          {
            readSlots: () =>
              this.callRenewal<SlotsReply>(ls, {
                type: 'read_slots',
                lockspace: ls.name,
                path: ls.path,
                offsetBytes: ls.offsetBytes,
              }),
            // auto: a held slot is waited on only while its owner is silent, never once it is seen renewing.
            join: (hostId, onlyIfFree) => joinWith(hostId, onlyIfFree, true),
            progress: (message) => ls.progress('pick-host-id', message),
            cancelled: () => !current(),
          },
          hostName,
          logger,
        );
      default:
        return assertNever(command, 'join command');
    }
  }

  /**
   * lockstop (or shutdown) during a join: the lane is told to stop it, and the core gets its answer
   * now. A join on a dead device sits in a syscall and could answer never; its late result is
   * dropped (staleJoinSettled), and its slot stays fenced to it until then.
   */
  private cancelJoin(name: string): void {
    const pending = this.joins.get(name);
    if (pending === undefined) return;
    this.joins.delete(name);
    this.renewal.laneOf(name)?.send({ type: 'cancel_join', lockspace: name });
    this.feed({
      type: 'join_result',
      name,
      result: { ok: false, error: { code: 'CANCELLED', message: `the start of lockspace ${name} was cancelled` } },
    });
  }

  /** A join the core no longer waits for has ended: what it got is given up, its slot freed. */
  private staleJoinSettled(name: string, lane: RenewalLane | undefined, joined: boolean): void {
    this.deps.logger.info(
      { lockspace: name, joined },
      'the join of a cancelled start has ended: its result is given up',
    );
    // A new start of the lockspace owns the slot now: leave it alone.
    if (this.joins.has(name) || this.core.lockspace(name)?.kind === 'joined') return;
    if (joined) lane?.send({ type: 'abandon', lockspace: name, reason: 'the start was cancelled' });
    if (this.renewal.laneOf(name) === lane) this.renewal.leave(name);
  }

  /** Gives our delta lease back; the core bounds the wait (then abandons) and ignores a late answer. */
  private leave(name: string): void {
    const ls = this.views.get(name);
    if (ls !== undefined) this.resources.detach(ls, 'lockstop');
    const lane = this.renewal.laneOf(name);
    if (lane === undefined || ls === undefined) {
      this.renewal.leave(name);
      this.feed({ type: 'leave_done', name });
      return;
    }
    const token = this.nextToken++;
    this.leaves.set(name, token);
    Promise.race([lane.call({ type: 'leave', lockspace: name }), ls.whenMoved(ls.laneEpoch)])
      .catch((error: unknown) =>
        this.deps.logger.warn(
          { lockspace: name, err: wireErrorOf(error) },
          'releasing the delta lease failed (it expires by itself)',
        ),
      )
      .finally(() => {
        if (this.leaves.get(name) !== token) return;
        this.leaves.delete(name);
        this.renewal.leave(name);
        this.feed({ type: 'leave_done', name });
      });
  }

  /** Nothing more is written for the lockspace (lost, or a leave that did not complete in time). */
  private abandon(name: string): void {
    this.leaves.delete(name);
    const ls = this.views.get(name);
    if (ls !== undefined) this.resources.detach(ls, ls.core.kind === 'lost' ? 'lease lost' : 'abandoned');
    const reason = ls?.core.state.kind === 'lost' ? ls.core.state.error.message : 'the daemon gave the lease up';
    this.renewal.laneOf(name)?.send({ type: 'abandon', lockspace: name, reason });
    this.renewal.leave(name);
  }

  /** A command that needs the lockspace's slot, on its current renewal lane; MovedError if it moves meanwhile. */
  private callRenewal<T>(
    ls: Lockspace,
    command: DistributiveOmit<WithoutReqId<Extract<RenewalCommand, { slot: number }>>, 'slot'>,
  ): Promise<T> {
    const epoch = ls.laneEpoch;
    const { lane, slot } = this.renewal.place(ls.name, ls.path);
    const call = lane.call<T>({ ...command, slot } as WithoutReqId<Extract<RenewalCommand, { reqId: number }>>);
    return Promise.race([call, ls.whenMoved(epoch)]);
  }

  // ------------------------------------------------------------------------- lane notifications

  private onRenewalNote(lane: RenewalLane, note: RenewalNote): void {
    if (note.type === 'log') return;
    const ls = this.views.get(note.lockspace);
    // Notes from a lane the lockspace was moved away from are stale.
    if (ls === undefined || this.renewal.laneOf(ls.name) !== lane) return;
    switch (note.type) {
      case 'renewed':
        if (ls.state !== 'joined' && ls.state !== 'starting') return;
        ls.hosts = note.hosts;
        ls.recordRenewal({ startedSeconds: note.lastRenewalSeconds, durationMs: note.durationMs, ok: true });
        this.feed({
          type: 'renewal_result',
          name: ls.name,
          result: { ok: true, lastRenewalSeconds: note.lastRenewalSeconds },
        });
        if (ls.state === 'joined') {
          this.resources.laneOf(ls.name)?.send({
            type: 'renewed',
            lockspace: ls.name,
            lastRenewalSeconds: note.lastRenewalSeconds,
            hosts: note.hosts,
          });
        }
        return;
      case 'renewal_error':
        ls.recordRenewal({
          startedSeconds: note.atSeconds,
          durationMs: 0,
          ok: false,
          code: note.code,
          message: note.message,
        });
        return;
      case 'renewal_warn':
        this.deps.logger.warn(
          { lockspace: ls.name, sinceSeconds: note.sinceSeconds },
          'no successful renewal for 6 x io_timeout',
        );
        return;
      case 'lost':
        this.feed({
          type: 'renewal_result',
          name: ls.name,
          result: { ok: false, error: { code: note.code, message: note.message } },
        });
        return;
      case 'event':
        ls.addEvent(note.event);
        return;
      case 'ping':
        if (ls.state === 'joined') for (const users of this.listeners) users.onPings(ls.name, [note.fromHostId]);
        return;
      case 'progress':
        ls.progress(note.phase, note.message, note.expectedSeconds);
        return;
      default:
        assertNever(note, 'renewal note');
    }
  }

  /**
   * These lockspaces were fenced off a lane that stalled on another device. Joined ones resume their
   * delta lease (same generation, from the disk) on a fresh lane; the core's deadline is unchanged
   * meanwhile. A join in flight starts again there (startJoin sees MovedError).
   */
  private onMoved(names: string[]): void {
    for (const name of names) {
      const ls = this.views.get(name);
      if (ls === undefined) continue;
      ls.markMoved();
      if (ls.core.kind !== 'joined') continue;
      const facts = ls.joinedFacts();
      void this.callRenewal<JoinedReply>(ls, {
        type: 'resume',
        config: ls.deltaConfig(facts.hostId, this.deps.hostName),
        path: ls.path,
        generation: facts.generation,
        minimumRemainingSeconds: ls.ioTimeoutSeconds,
      }).then(
        (joined) => {
          if (this.views.get(name) !== ls) return;
          this.feed({
            type: 'renewal_result',
            name,
            result: { ok: true, lastRenewalSeconds: joined.lastRenewalSeconds },
          });
          this.deps.logger.info({ lockspace: name }, 'lockspace moved to a new renewal lane');
        },
        (error: unknown) => {
          if (error instanceof MovedError || this.views.get(name) !== ls) return;
          const wire = wireErrorOf(error);
          this.feed({
            type: 'renewal_result',
            name,
            result: {
              ok: false,
              error: {
                code: wire.code,
                message: `could not move the lockspace off a stalled renewal lane: ${wire.message}`,
              },
            },
          });
        },
      );
    }
  }

  private onResourceNote(lane: ResourceLane, note: ResourceNote): void {
    if (note.type !== 'ping_host') return;
    const ls = this.views.get(note.lockspace);
    if (ls?.state === 'joined' && this.resources.laneOf(ls.name) === lane) {
      this.renewal.laneOf(ls.name)?.send({ type: 'ping_host', lockspace: ls.name, hostId: note.hostId });
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

function coreHolder(holder: Holder): CoreHolder {
  return holder.kind === 'persistent'
    ? { kind: 'persistent' }
    : { kind: 'process', pid: holder.pid, startTime: holder.startTime };
}

function coreError(error: WireError): CoreError {
  return { code: error.code, message: error.message };
}

/** For LOCKSPACE_BUSY's details: who holds what (the registry's wording). */
function describeCoreHolder(holder: CoreHolder): string {
  return holder.kind === 'persistent'
    ? describeHolderText({ kind: 'persistent' })
    : describeHolderText({ ...holder, uid: 0 });
}

export function wireErrorOf(error: unknown): WireError {
  if (error instanceof LaneFailure)
    return {
      code: error.failure.code,
      message: error.failure.message,
      ...(error.failure.details ? { details: jsonSafe(error.failure.details) as Record<string, unknown> } : {}),
    };
  if (error instanceof DaemonError) return error.toWire();
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return { code: (error as { code: string }).code, message: String((error as { message?: unknown }).message ?? '') };
  }
  return classifyError(error);
}
