/**
 * The daemon's decisions as a pure state machine (etcd raft's style): `step(event)` returns the
 * actions to execute. No I/O, no timers: time only through the injected Clock, read once per step.
 * The daemon executes the actions with threads, sockets, SQLite and timers; the simulator executes
 * them in virtual time against the real lease code.
 *
 * Rules it keeps (each asserted or checked where it is decided):
 * - no lease without fencing: a lockspace is joined only once the watchdog companion acknowledged
 *   its registration; leases are granted only while joined and within the deadline;
 * - the main thread's own deadline (8 x io_timeout after the last renewal) declares the lease lost
 *   even when the lane says nothing (a hung device);
 * - a new generation of our host_id is never joined while a holder of an older one may still use a
 *   lease of that lockspace (restart without resume, lockstart after a loss);
 * - a lockstop finishes even when the device hangs: the companion is told first, the leave is bounded;
 * - a lockstop of a starting lockspace drops the persistent users the start may be waiting for.
 */
import { idRenewalFailSeconds, type Clock } from '@leasehold/lease';
import { assert, assertNever } from './assert.js';
import { chooseHostId, SLOT_TAKEN_CODES } from './host-id-choice.js';
import { KillCampaigns } from './kill-campaigns.js';
import { LeaseBook, leaseKey, type LeaseRecord } from './lease-book.js';
import { DEFAULT_LIMITS, type HostCoreLimits } from './limits.js';
import { LockspaceMachine, type LockspaceSpec, type Recovery } from './lockspace-machine.js';
import {
  describeHolder,
  holderKey,
  type CoreError,
  type Holder,
  type HostAction,
  type HostEvent,
  type JoinedFacts,
  type LaneCommand,
  type LeaseRow,
  type LockspaceRow,
  type ReplyValue,
  type StateChange,
  type WatchdogMessage,
} from './types.js';

/** A release of our delta lease that has not completed after this many io_timeouts is abandoned. */
export const LEAVE_TIMEOUT_IO_TIMEOUTS = 2;
/** A resume needs this many io_timeouts left of the 8N window, to renew before the deadline. */
export const RESUME_MARGIN_IO_TIMEOUTS = 2;

/**
 * Test-only switches that put back one of the bugs fixed in the daemon, so that the simulator can
 * show its scenario fails without the fix. Never set in production.
 */
export type RevertedFix =
  /** b1886af: joined before the companion acknowledged the registration. */
  | 'watchdog-ack'
  /** 2767396: lockstop waits for the leave (unbounded) before telling the companion. */
  | 'lockstop-hung-device'
  /** c494f00: lockstop of a starting lockspace leaves the persistent users it waits for. */
  | 'lockstop-starting'
  /** host_id reuse: a new generation joins while holders of the older one may still run. */
  | 'host-id-reuse'
  /**
   * The shell's (the core has nothing to switch): cancel_join waits for the lane's answer, which a
   * join on hung storage gives only when the storage comes back.
   */
  | 'lockstop-hung-join'
  /** An acquire admitted while the restarted daemon still gives back an interrupted one (clean_intent). */
  | 'clean-intent-race';

export interface HostCoreConfig {
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  killGraceSeconds: number;
  limits?: Partial<HostCoreLimits>;
  revertedFix?: RevertedFix;
}

export class HostCore {
  private readonly lockspaces = new Map<string, LockspaceMachine>();
  private readonly leases: LeaseBook;
  private readonly kills = new KillCampaigns();
  private readonly limits: HostCoreLimits;
  /**
   * Lease rows found in state for lockspaces that have no row (stopped while starting, then the
   * daemon died): their holders may still run, so the next start of that lockspace treats them as
   * holders of an older generation (found by the whole-host simulator).
   */
  private readonly orphanLeases = new Map<string, LeaseRow[]>();
  /**
   * Resources whose clean_intent is in progress, with the lockspace machine it was issued for (an
   * entry of an earlier start of the lockspace is stale). Bounded by the lease rows state may hold.
   */
  private readonly cleaning = new Map<string, LockspaceMachine>();
  private pendingRequests = 0;
  private closing = false;
  private out: HostAction[] = [];
  private nowSeconds = 0;

  constructor(
    private readonly clock: Clock,
    private readonly config: HostCoreConfig,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...config.limits };
    this.leases = new LeaseBook(this.limits);
  }

  // ------------------------------------------------------------------------------- queries

  lockspace(name: string): LockspaceMachine | undefined {
    return this.lockspaces.get(name);
  }

  lockspaceNames(): string[] {
    return [...this.lockspaces.keys()].sort();
  }

  leaseRecords(): readonly LeaseRecord[] {
    return this.leases.all();
  }

  leaseRecord(lockspace: string, resource: string): Readonly<LeaseRecord> | undefined {
    return this.leases.get(lockspace, resource);
  }

  /** Whether `holder` holds a lease on this host (in whatever state: acquiring, held, converting, releasing). */
  holds(holder: Holder): boolean {
    return this.leases.countOf(holder) > 0;
  }

  killPending(name: string): Holder[] {
    return this.kills.pendingOf(name);
  }

  killCampaignNames(): string[] {
    return this.kills.names();
  }

  /** Local clock second at which our delta lease of `name` expires, if joined. */
  deadlineOf(name: string): number | undefined {
    const ls = this.lockspaces.get(name);
    if (ls === undefined || ls.state.kind !== 'joined') return undefined;
    return ls.state.facts.lastRenewalSeconds + idRenewalFailSeconds(this.config.ioTimeoutSeconds);
  }

  /** Joined and within the deadline: resource leases may be granted and used. */
  usable(name: string, nowSeconds = this.clock.nowSeconds()): boolean {
    const deadline = this.deadlineOf(name);
    return deadline !== undefined && nowSeconds < deadline;
  }

  /** When the core next wants an expiry_tick (local clock), if ever. */
  nextWakeSeconds(): number | undefined {
    let next = this.kills.nextWakeSeconds();
    const consider = (at: number | undefined): void => {
      if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
    };
    for (const ls of this.lockspaces.values()) {
      const state = ls.state;
      if (state.kind === 'joined') consider(this.deadlineOf(ls.name));
      else if (state.kind === 'stopping') consider(state.leaveDeadlineSeconds);
    }
    return next;
  }

  // ---------------------------------------------------------------------------------- step

  step(event: HostEvent): HostAction[] {
    this.out = [];
    this.nowSeconds = this.clock.nowSeconds();
    switch (event.type) {
      case 'state_loaded':
        this.onStateLoaded(event.lockspaces, event.leases, event.sameBoot);
        break;
      case 'lockstart':
        this.onLockstart(event);
        break;
      case 'lockstop':
        this.onLockstop(event.reqId, event.name);
        break;
      case 'companion_ack':
        this.onCompanionAck(event.name, event.step, event.ok, event.message);
        break;
      case 'join_result':
        this.onJoinResult(event.name, event.result);
        break;
      case 'renewal_result':
        this.onRenewalResult(event.name, event.result);
        break;
      case 'leave_done':
        this.onLeaveDone(event.name);
        break;
      case 'expiry_tick':
        this.onTick();
        break;
      case 'acquire':
        this.onAcquire(event);
        break;
      case 'acquire_result':
        this.onAcquireResult(event.lockspace, event.resource, event.result);
        break;
      case 'cancel_acquire':
        this.onCancelAcquire(event.lockspace, event.resource);
        break;
      case 'convert':
        this.onConvert(event);
        break;
      case 'convert_result':
        this.onConvertResult(event.lockspace, event.resource, event.result);
        break;
      case 'update_token':
        this.onUpdateToken(event);
        break;
      case 'release':
        this.onRelease(event.reqId, event.lockspace, event.resource, event.holder);
        break;
      case 'release_result':
        this.onReleaseResult(event.lockspace, event.resource);
        break;
      case 'clean_done':
        this.cleaning.delete(leaseKey(event.lockspace, event.resource));
        break;
      case 'client_exit':
        this.onClientExit({ kind: 'process', pid: event.pid, startTime: event.startTime });
        break;
      case 'kill_done':
        this.onHolderGone(event.name, event.holder);
        break;
      case 'shutdown':
        this.onShutdown();
        break;
      default:
        assertNever(event, 'host event');
    }
    const wake = this.nextWakeSeconds();
    if (wake !== undefined) this.out.push({ type: 'wake', atSeconds: wake });
    const actions = this.out;
    this.out = [];
    return actions;
  }

  // ------------------------------------------------------------------------------ emitters

  private lane(command: LaneCommand): void {
    this.out.push({ type: 'lane', command });
  }

  private watchdog(message: WatchdogMessage): void {
    this.out.push({ type: 'watchdog', message });
  }

  private state(change: StateChange): void {
    this.out.push({ type: 'state', change });
  }

  private ok(reqId: number, value: ReplyValue): void {
    this.pendingRequests = Math.max(0, this.pendingRequests - 1);
    this.out.push({ type: 'reply', reply: { reqId, ok: true, value } });
  }

  private fail(reqId: number, error: CoreError): void {
    this.pendingRequests = Math.max(0, this.pendingRequests - 1);
    this.out.push({ type: 'reply', reply: { reqId, ok: false, error } });
  }

  /** Counts a request in progress; false (and a TOO_MANY_REQUESTS reply) at the limit. */
  private admit(reqId: number): boolean {
    if (this.pendingRequests >= this.limits.pendingRequests) {
      this.out.push({
        type: 'reply',
        reply: {
          reqId,
          ok: false,
          error: {
            code: 'TOO_MANY_REQUESTS',
            message: `${this.pendingRequests} requests in progress (limit ${this.limits.pendingRequests})`,
          },
        },
      });
      return false;
    }
    this.pendingRequests++;
    return true;
  }

  private log(level: 'info' | 'warn' | 'error', name: string, message: string): void {
    this.out.push({ type: 'log', level, name, message });
  }

  private row(ls: LockspaceMachine, facts: JoinedFacts | undefined): LockspaceRow {
    const kind = ls.kind;
    return {
      name: ls.name,
      path: ls.spec.path,
      offsetBytes: ls.spec.offsetBytes,
      hostIdRequest: ls.spec.hostIdRequest,
      hostId: facts?.hostId ?? null,
      generation: facts?.generation ?? null,
      state: kind,
    };
  }

  // ------------------------------------------------------------------------------ lockstart

  private onStateLoaded(lockspaces: LockspaceRow[], leases: LeaseRow[], sameBoot: boolean): void {
    assert(this.lockspaces.size === 0, 'state is loaded once, before any lockstart');
    const named = new Set(lockspaces.map((row) => row.name));
    for (const lease of sameBoot ? leases : []) {
      if (named.has(lease.lockspace) || lease.token === '') continue;
      if (this.orphanLeases.size >= this.limits.lockspaces && !this.orphanLeases.has(lease.lockspace)) continue;
      this.orphanLeases.set(lease.lockspace, [...(this.orphanLeases.get(lease.lockspace) ?? []), lease]);
    }
    for (const row of lockspaces) {
      if (this.lockspaces.size >= this.limits.lockspaces) {
        this.log('error', row.name, `not restarted: more than ${this.limits.lockspaces} lockspaces recorded`);
        continue;
      }
      const stored = sameBoot ? leases.filter((lease) => lease.lockspace === row.name) : [];
      // After a reboot no process of the previous one survives; our old generation is long expired.
      if (!sameBoot) this.state({ type: 'delete_leases_of', lockspace: row.name });
      const resumable = sameBoot && row.state === 'joined' && row.hostId !== null && row.generation !== null;
      const recovery: Recovery | undefined =
        row.hostId !== null && row.generation !== null && resumable
          ? { hostId: row.hostId, generation: row.generation, stored }
          : stored.length > 0
            ? { hostId: row.hostId ?? 0, generation: 0n, stored }
            : undefined;
      const spec: LockspaceSpec = {
        name: row.name,
        path: row.path,
        offsetBytes: row.offsetBytes,
        hostIdRequest: row.hostIdRequest,
        configuredHostId: undefined,
        rememberedHostId: row.hostId ?? undefined,
      };
      this.begin(spec, recovery);
    }
  }

  private onLockstart(event: Extract<HostEvent, { type: 'lockstart' }>): void {
    if (!this.admit(event.reqId)) return;
    if (this.closing) {
      this.fail(event.reqId, { code: 'SHUTTING_DOWN', message: 'the daemon is shutting down' });
      return;
    }
    const existing = this.lockspaces.get(event.name);
    if (existing !== undefined) {
      const state = existing.state;
      const hostId = state.kind === 'joined' ? state.facts.hostId : undefined;
      const same =
        existing.spec.path === event.path &&
        existing.spec.offsetBytes === event.offsetBytes &&
        (event.hostIdRequest === 'auto' ||
          event.hostIdRequest === existing.spec.hostIdRequest ||
          event.hostIdRequest === hostId);
      if (state.kind === 'stopped' || (state.kind === 'lost' && same)) {
        this.lockspaces.delete(event.name);
      } else if (!same) {
        this.fail(event.reqId, {
          code: 'LOCKSPACE_EXISTS',
          message: `lockspace ${event.name} is already ${state.kind} at ${existing.spec.path}:${existing.spec.offsetBytes}`,
        });
        return;
      } else if (state.kind === 'stopping') {
        this.fail(event.reqId, {
          code: 'LOCKSPACE_STOPPING',
          message: `lockspace ${event.name} is stopping; wait for it, then start it again`,
        });
        return;
      } else if (state.kind === 'joined') {
        this.ok(event.reqId, { kind: 'lockspace', name: event.name, state: 'joined' });
        return;
      } else {
        existing.startWaiters.push(event.reqId);
        return;
      }
    }
    if (this.lockspaces.size >= this.limits.lockspaces) {
      this.fail(event.reqId, {
        code: 'TOO_MANY_LOCKSPACES',
        message: `${this.lockspaces.size} lockspaces are started (limit ${this.limits.lockspaces})`,
      });
      return;
    }
    const spec: LockspaceSpec = {
      name: event.name,
      path: event.path,
      offsetBytes: event.offsetBytes,
      hostIdRequest: event.hostIdRequest,
      configuredHostId: event.configuredHostId,
      rememberedHostId: event.rememberedHostId,
    };
    const orphans = this.orphanLeases.get(event.name);
    this.orphanLeases.delete(event.name);
    const ls = this.begin(spec, orphans === undefined ? undefined : { hostId: 0, generation: 0n, stored: orphans });
    ls.startWaiters.push(event.reqId);
  }

  private begin(spec: LockspaceSpec, recovery: Recovery | undefined): LockspaceMachine {
    const ls = new LockspaceMachine(spec, recovery);
    this.lockspaces.set(spec.name, ls);
    this.state({ type: 'put_lockspace', row: this.row(ls, undefined) });
    // No lease without fencing: the watchdog must be able to reset this host before we join.
    this.watchdog({ type: 'prepare', name: spec.name });
    return ls;
  }

  private onCompanionAck(name: string, step: 'prepare' | 'add', ok: boolean, message: string | undefined): void {
    const ls = this.lockspaces.get(name);
    if (ls === undefined || ls.state.kind !== 'starting') return; // a late ack of a start that ended
    const starting = ls.starting();
    if (step === 'prepare') {
      if (starting.phase !== 'prepare') return;
      if (!ok) {
        this.startFailed(ls, {
          code: 'WATCHDOG_UNAVAILABLE',
          message: message ?? 'the watchdog companion cannot fence this host',
        });
        return;
      }
      if (starting.cancelled) {
        this.finishCancelledStart(ls);
        return;
      }
      this.afterPrepare(ls);
      return;
    }
    if (starting.phase !== 'register') return;
    const joined = starting.joined;
    assert(joined !== undefined, `${name}: registering without a delta lease`);
    if (!ok) {
      // Nothing has used the lease: give it back, and the start fails.
      this.lane({ type: 'leave', name });
      this.watchdog({ type: 'remove', name });
      this.startFailed(ls, {
        code: 'WATCHDOG_UNAVAILABLE',
        message: message ?? 'the watchdog companion did not confirm the registration',
      });
      return;
    }
    if (starting.cancelled) {
      this.stopAfterCancelledJoin(ls);
      return;
    }
    this.joined(ls, joined);
  }

  private afterPrepare(ls: LockspaceMachine): void {
    const starting = ls.starting();
    const recovery = starting.recovery;
    if (recovery !== undefined && recovery.generation !== 0n) {
      ls.enterPhase('resume');
      starting.hostIdSource = 'restored';
      this.lane({
        type: 'resume',
        name: ls.name,
        path: ls.spec.path,
        offsetBytes: ls.spec.offsetBytes,
        hostId: recovery.hostId,
        generation: recovery.generation,
      });
      return;
    }
    this.checkOldHolders(ls);
  }

  /** Before a new generation joins: holders recorded from an older one must be gone. */
  private checkOldHolders(ls: LockspaceMachine): void {
    const starting = ls.starting();
    ls.enterPhase('old-holders');
    const recovery = starting.recovery;
    if (recovery !== undefined && recovery.stored.length > 0) {
      // An acquire still in progress was never granted to its requester: it uses nothing.
      const holders = uniqueHolders(recovery.stored.filter((row) => row.token !== '').map((row) => row.holder));
      starting.recovery = { ...recovery, stored: [] };
      if (this.config.revertedFix !== 'host-id-reuse' && holders.length > 0) {
        this.log(
          'warn',
          ls.name,
          `old lease holders outlived our delta lease: stopping ${holders.map(describeHolder).join(', ')} before joining again`,
        );
        this.startKills(ls.name, holders);
      }
    }
    this.joinIfNoOldHolders(ls);
  }

  private joinIfNoOldHolders(ls: LockspaceMachine): void {
    const starting = ls.starting();
    if (starting.phase !== 'old-holders') return;
    if (this.config.revertedFix !== 'host-id-reuse' && this.kills.pendingCount(ls.name) > 0) return;
    // The older generation's holders are gone: their rows go too.
    this.state({ type: 'delete_leases_of', lockspace: ls.name });
    if (starting.cancelled) {
      this.finishCancelledStart(ls);
      return;
    }
    this.join(ls);
  }

  private join(ls: LockspaceMachine): void {
    const starting = ls.starting();
    ls.enterPhase('join');
    const choice = chooseHostId(
      ls.spec.hostIdRequest,
      ls.spec.configuredHostId,
      ls.spec.rememberedHostId,
      starting.rememberedTaken,
    );
    starting.hostIdSource = choice.source;
    const where = { name: ls.name, path: ls.spec.path, offsetBytes: ls.spec.offsetBytes };
    if (choice.kind === 'pick') this.lane({ type: 'pick_and_join', ...where });
    else this.lane({ type: 'join', ...where, hostId: choice.hostId, onlyIfFree: choice.onlyIfFree });
  }

  private onJoinResult(name: string, result: Extract<HostEvent, { type: 'join_result' }>['result']): void {
    const ls = this.lockspaces.get(name);
    assert(
      ls !== undefined && ls.state.kind === 'starting',
      `${name}: a join result arrives only for a starting lockspace`,
    );
    const starting = ls.starting();
    assert(starting.phase === 'join' || starting.phase === 'resume', `${name}: join result in phase ${starting.phase}`);
    if (!result.ok) {
      if (starting.phase === 'resume') {
        this.log('warn', name, `cannot resume the delta lease (${result.error.code}); joining again`);
        starting.recovery = starting.recovery === undefined ? undefined : { ...starting.recovery, generation: 0n };
        if (starting.cancelled) {
          this.finishCancelledStart(ls);
          return;
        }
        this.checkOldHolders(ls);
        return;
      }
      if (starting.hostIdSource === 'remembered' && SLOT_TAKEN_CODES.has(result.error.code) && !starting.cancelled) {
        this.log('warn', name, 'remembered host_id is taken by another host; picking a new one');
        starting.rememberedTaken = true;
        this.state({ type: 'forget_host_id', name });
        this.join(ls);
        return;
      }
      if (starting.cancelled) {
        this.finishCancelledStart(ls);
        return;
      }
      this.startFailed(ls, result.error);
      return;
    }
    starting.joined = result.facts;
    if (starting.cancelled) {
      // lockstop came while we were joining: give the lease straight back.
      starting.phase = 'register';
      this.stopAfterCancelledJoin(ls);
      return;
    }
    ls.enterPhase('register');
    this.watchdog({
      type: 'add',
      name,
      expiresAtSeconds: result.facts.lastRenewalSeconds + idRenewalFailSeconds(this.config.ioTimeoutSeconds),
    });
    // The reverted bug: usable before the companion holds the deadline (nothing could fence us).
    if (this.config.revertedFix === 'watchdog-ack') this.joined(ls, result.facts);
  }

  private joined(ls: LockspaceMachine, facts: JoinedFacts): void {
    const starting = ls.starting();
    const source = starting.hostIdSource ?? 'given';
    const recovery = starting.recovery;
    ls.becomeJoined(facts, source);
    this.watchdog({
      type: 'renew',
      name: ls.name,
      expiresAtSeconds: facts.lastRenewalSeconds + idRenewalFailSeconds(this.config.ioTimeoutSeconds),
    });
    if (ls.spec.hostIdRequest === 'auto' && source !== 'config')
      this.state({ type: 'remember_host_id', name: ls.name, hostId: facts.hostId });
    this.state({ type: 'put_lockspace', row: this.row(ls, facts) });
    if (source === 'restored' && recovery !== undefined) this.adopt(ls, recovery.stored);
    for (const reqId of ls.startWaiters.splice(0))
      this.ok(reqId, { kind: 'lockspace', name: ls.name, state: 'joined' });
  }

  private startFailed(ls: LockspaceMachine, error: CoreError): void {
    ls.becomeStopped(error);
    this.state({ type: 'put_lockspace', row: this.row(ls, undefined) });
    this.log('error', ls.name, `lockspace start failed: ${error.code} ${error.message}`);
    for (const reqId of ls.startWaiters.splice(0)) this.fail(reqId, error);
    for (const reqId of ls.stopWaiters.splice(0))
      this.ok(reqId, { kind: 'lockspace', name: ls.name, state: 'stopped' });
  }

  /** A cancelled start that holds nothing on disk. */
  private finishCancelledStart(ls: LockspaceMachine): void {
    this.watchdog({ type: 'remove', name: ls.name });
    this.finishStop(ls, { code: 'LOCKSPACE_STOPPING', message: `lockspace ${ls.name} was stopped while starting` });
  }

  /**
   * The start was cancelled by the daemon's shutdown alone (no lockstop asked for it): its row stays,
   * and the next daemon starts it again, as it does a joined lockspace left at shutdown.
   */
  private onlyShutdown(ls: LockspaceMachine): boolean {
    return this.closing && ls.stopWaiters.length === 0;
  }

  /** A cancelled start whose lane holds the delta lease: give it back (bounded). */
  private stopAfterCancelledJoin(ls: LockspaceMachine): void {
    this.watchdog({ type: 'remove', name: ls.name });
    ls.becomeStopping(
      this.nowSeconds + LEAVE_TIMEOUT_IO_TIMEOUTS * this.config.ioTimeoutSeconds,
      this.onlyShutdown(ls),
    );
    this.lane({ type: 'leave', name: ls.name });
  }

  // ---------------------------------------------------------------------------- adoption

  /** The delta lease was resumed with the same generation: what state recorded is ours again. */
  private adopt(ls: LockspaceMachine, stored: LeaseRow[]): void {
    for (const row of stored) {
      if (row.token === '') {
        // An acquire interrupted by the restart: the lease may be ours on disk with nobody using it.
        this.state({ type: 'delete_lease', lockspace: row.lockspace, resource: row.resource, holder: row.holder });
        if (this.leases.get(row.lockspace, row.resource) === undefined) {
          if (this.config.revertedFix !== 'clean-intent-race') {
            assert(this.cleaning.size < this.maxCleaning(), 'cleanings are bounded by the lease rows state holds');
            this.cleaning.set(leaseKey(row.lockspace, row.resource), ls);
          }
          this.lane({ type: 'clean_intent', lockspace: row.lockspace, resource: row.resource });
        }
        continue;
      }
      if (this.leases.get(row.lockspace, row.resource) !== undefined) continue;
      this.leases.add({
        lockspace: row.lockspace,
        resource: row.resource,
        mode: row.mode,
        holder: row.holder,
        state: 'held',
        token: row.token,
        reqId: undefined,
        wanted: true,
      });
      // A holder that died meanwhile is reported at once (client_exit) and its lease released.
      if (row.holder.kind === 'process') this.out.push({ type: 'watch_holder', holder: row.holder });
      this.log('info', ls.name, `adopted ${row.resource} held by ${describeHolder(row.holder)}`);
    }
  }

  /** At most one clean per lease row state can hold. */
  private maxCleaning(): number {
    return this.limits.clients * this.limits.leasesPerClient + this.limits.persistentLeases;
  }

  // ------------------------------------------------------------------------------- lockstop

  private onLockstop(reqId: number, name: string): void {
    if (!this.admit(reqId)) return;
    const ls = this.lockspaces.get(name);
    if (ls === undefined) {
      this.fail(reqId, { code: 'NO_LOCKSPACE', message: `lockspace ${name} is not started on this host` });
      return;
    }
    const state = ls.state;
    switch (state.kind) {
      case 'stopping':
        ls.stopWaiters.push(reqId);
        return;
      case 'stopped':
      case 'lost': {
        // An explicit stop of a lost lockspace is the admin saying its persistent users are stopped.
        if (this.kills.dropPersistent(name)) this.clean(name);
        this.lockspaces.delete(name);
        this.state({ type: 'delete_lockspace', name });
        this.ok(reqId, { kind: 'lockspace', name, state: 'stopped' });
        return;
      }
      case 'starting': {
        // Leases recorded before a restart are still in use until they are adopted (then released)
        // or their holders are stopped: the lockspace is busy, as a joined one with leases is.
        const recorded = state.recovery?.stored.filter((row) => row.token !== '') ?? [];
        if (recorded.length > 0) {
          this.fail(reqId, {
            code: 'LOCKSPACE_BUSY',
            message: `lockspace ${name} is starting again with ${recorded.length} lease(s) recorded as held; release them once it is joined`,
          });
          return;
        }
        ls.stopWaiters.push(reqId);
        if (state.cancelled) return;
        ls.cancelStart();
        this.state({ type: 'delete_lockspace', name });
        // A start may be waiting for the persistent users of an older generation: the stop says they are gone.
        if (this.config.revertedFix !== 'lockstop-starting' && this.kills.dropPersistent(name)) this.clean(name);
        // Dropping them may have let the cancelled start finish already.
        if (ls.state.kind !== 'starting') return;
        switch (state.phase) {
          case 'prepare':
          case 'register':
            return; // the companion's answer finishes it
          case 'old-holders':
            this.joinIfNoOldHolders(ls);
            return;
          case 'join':
          case 'resume':
            this.lane({ type: 'cancel_join', name });
            return;
          default:
            assertNever(state.phase, 'start phase');
            return;
        }
      }
      case 'joined': {
        const held = this.leases.inLockspace(name);
        if (held.length > 0) {
          this.fail(reqId, {
            code: 'LOCKSPACE_BUSY',
            message: `lockspace ${name} has ${held.length} lease(s) held (${held.map((r) => `${r.resource} by ${describeHolder(r.holder)}`).join(', ')}); release them first`,
          });
          return;
        }
        ls.stopWaiters.push(reqId);
        this.leave(ls, false);
        return;
      }
      default:
        assertNever(state, 'lockspace state');
    }
  }

  /** Gives our delta lease back. The companion is told first: nothing uses the lease, even if the write hangs. */
  private leave(ls: LockspaceMachine, keepRow: boolean): void {
    if (this.config.revertedFix === 'lockstop-hung-device') {
      ls.becomeStopping(undefined, keepRow);
    } else {
      this.watchdog({ type: 'remove', name: ls.name });
      ls.becomeStopping(this.nowSeconds + LEAVE_TIMEOUT_IO_TIMEOUTS * this.config.ioTimeoutSeconds, keepRow);
    }
    this.lane({ type: 'leave', name: ls.name });
  }

  private onLeaveDone(name: string): void {
    const ls = this.lockspaces.get(name);
    if (ls === undefined || ls.state.kind !== 'stopping') return; // a leave after a failed registration, or timed out
    if (this.config.revertedFix === 'lockstop-hung-device') this.watchdog({ type: 'remove', name });
    this.finishStop(ls, undefined);
  }

  private finishStop(ls: LockspaceMachine, startError: CoreError | undefined): void {
    const state = ls.state;
    const keepRow =
      (state.kind === 'stopping' && state.keepRow) || (state.kind === 'starting' && this.onlyShutdown(ls));
    ls.becomeStopped(undefined);
    if (this.lockspaces.get(ls.name) === ls) this.lockspaces.delete(ls.name);
    if (keepRow)
      this.state({
        type: 'put_lockspace',
        row: { ...this.row(ls, state.kind === 'stopping' ? state.facts : undefined), state: 'stopped' },
      });
    else this.state({ type: 'delete_lockspace', name: ls.name });
    for (const reqId of ls.startWaiters.splice(0))
      this.fail(reqId, startError ?? { code: 'LOCKSPACE_STOPPING', message: `lockspace ${ls.name} was stopped` });
    for (const reqId of ls.stopWaiters.splice(0))
      this.ok(reqId, { kind: 'lockspace', name: ls.name, state: 'stopped' });
  }

  // --------------------------------------------------------------------- renewals and loss

  private onRenewalResult(name: string, result: Extract<HostEvent, { type: 'renewal_result' }>['result']): void {
    const ls = this.lockspaces.get(name);
    if (ls === undefined) return;
    const state = ls.state;
    if (state.kind === 'starting' && state.joined !== undefined && result.ok) {
      ls.starting().joined = {
        ...state.joined,
        lastRenewalSeconds: Math.max(state.joined.lastRenewalSeconds, result.lastRenewalSeconds),
      };
      return;
    }
    if (state.kind !== 'joined') return; // stopping, lost, stopped: renewals no longer matter
    if (!result.ok) {
      this.lose(ls, result.error);
      return;
    }
    ls.renewed(result.lastRenewalSeconds);
    const deadline = this.deadlineOf(name);
    assert(deadline !== undefined, `${name}: joined has a deadline`);
    if (this.nowSeconds >= deadline) {
      this.lose(ls, { code: 'LEASE_LOST', message: 'the renewal arrived after the deadline' });
      return;
    }
    this.watchdog({ type: 'renew', name, expiresAtSeconds: deadline });
  }

  private onTick(): void {
    for (const ls of [...this.lockspaces.values()]) {
      const state = ls.state;
      if (state.kind === 'joined') {
        const deadline = this.deadlineOf(ls.name);
        if (deadline !== undefined && this.nowSeconds >= deadline) {
          const since = this.nowSeconds - state.facts.lastRenewalSeconds;
          this.lose(ls, {
            code: 'LEASE_LOST',
            message: `no successful renewal for ${since.toFixed(1)} s (limit 8 x io_timeout = ${8 * this.config.ioTimeoutSeconds} s)`,
          });
        }
      } else if (
        state.kind === 'stopping' &&
        state.leaveDeadlineSeconds !== undefined &&
        this.nowSeconds >= state.leaveDeadlineSeconds
      ) {
        this.log('warn', ls.name, 'releasing the delta lease did not complete (it expires by itself)');
        this.lane({ type: 'abandon', name: ls.name });
        this.finishStop(ls, undefined);
      }
    }
    for (const due of this.kills.dueKills(this.nowSeconds))
      this.out.push(
        due.signal === 'kill'
          ? { type: 'kill', name: due.name, holders: due.holders, signal: 'kill' }
          : { type: 'kill', name: due.name, holders: due.holders, signal: 'term', repeat: true },
      );
  }

  /**
   * The delta lease is lost: nothing is written for it or its resource leases any more; every user
   * of its leases is stopped (kill plan) and the companion stops moving its deadline.
   */
  private lose(ls: LockspaceMachine, error: CoreError): void {
    ls.becomeLost(error);
    this.lane({ type: 'abandon', name: ls.name });
    this.watchdog({ type: 'lost', name: ls.name });
    const holders: Holder[] = [];
    for (const record of this.leases.inLockspace(ls.name)) {
      if (record.state !== 'acquiring') holders.push(record.holder);
      if (record.reqId !== undefined)
        this.fail(record.reqId, {
          code: 'LOCKSPACE_LOST',
          message: `lockspace ${ls.name} lost its lease: ${error.message}`,
        });
      // No disk I/O for these any more; their state rows stay until the users are gone.
      this.leases.remove(record);
    }
    this.state({ type: 'put_lockspace', row: this.row(ls, ls.state.kind === 'lost' ? ls.state.facts : undefined) });
    this.log(
      'error',
      ls.name,
      `LEASE LOST in lockspace ${ls.name}: ${error.message}; stopping every user of its leases`,
    );
    const unique = uniqueHolders(holders);
    if (unique.length === 0) {
      this.clean(ls.name);
      return;
    }
    this.startKills(ls.name, unique);
  }

  private startKills(name: string, holders: Holder[]): void {
    const added = this.kills.start(name, holders, this.nowSeconds, this.config.killGraceSeconds);
    if (added.length > 0) this.out.push({ type: 'kill', name, holders: added, signal: 'term' });
  }

  /** Nobody uses the lost lockspace's leases any more. */
  private clean(name: string): void {
    const ls = this.lockspaces.get(name);
    const state = ls?.state;
    // A start waiting for old holders goes on; a lost lockspace is no longer the companion's concern.
    if (state?.kind === 'starting') {
      if (ls !== undefined) this.joinIfNoOldHolders(ls);
      return;
    }
    this.watchdog({ type: 'remove', name });
    this.state({ type: 'delete_leases_of', lockspace: name });
  }

  private onHolderGone(name: string, holder: Holder): void {
    if (this.kills.gone(name, holder)) this.clean(name);
  }

  // --------------------------------------------------------------------------------- leases

  private refusal(lockspace: string): CoreError | undefined {
    const ls = this.lockspaces.get(lockspace);
    if (ls === undefined)
      return { code: 'NO_LOCKSPACE', message: `lockspace ${lockspace} is not started on this host (use lockstart)` };
    if (this.usable(lockspace, this.nowSeconds)) return undefined;
    const state = ls.state;
    switch (state.kind) {
      case 'starting':
        return {
          code: 'LOCKSPACE_STARTING',
          message: `lockspace ${lockspace} is still starting; retry, or lockstart --wait`,
        };
      case 'stopping':
        return { code: 'LOCKSPACE_STOPPING', message: `lockspace ${lockspace} is stopping` };
      case 'stopped':
        return {
          code: 'NO_LOCKSPACE',
          message: `lockspace ${lockspace} failed to start: ${state.error?.message ?? 'stopped'}`,
        };
      case 'lost':
        return {
          code: 'LOCKSPACE_LOST',
          message: `lockspace ${lockspace} lost its lease: ${state.error.message}; lockstop it, then lockstart again`,
        };
      case 'joined':
        return { code: 'LOCKSPACE_LOST', message: `lockspace ${lockspace} passed its renewal deadline` };
      default:
        return assertNever(state, 'lockspace state');
    }
  }

  private onAcquire(event: Extract<HostEvent, { type: 'acquire' }>): void {
    if (!this.admit(event.reqId)) return;
    const refusal = this.refusal(event.lockspace);
    if (refusal !== undefined) {
      this.fail(event.reqId, refusal);
      return;
    }
    const existing = this.leases.get(event.lockspace, event.resource);
    if (existing !== undefined) {
      if (holderKey(existing.holder) === holderKey(event.holder)) {
        this.fail(event.reqId, {
          code: 'ALREADY_HELD',
          message: `${event.lockspace}:${event.resource} is already held by this holder (${existing.mode})`,
        });
        return;
      }
      this.fail(event.reqId, {
        code: 'LEASE_HELD_LOCALLY',
        message: `${event.lockspace}:${event.resource} is held on this host by ${describeHolder(existing.holder)}`,
      });
      return;
    }
    const key = leaseKey(event.lockspace, event.resource);
    const cleaner = this.cleaning.get(key);
    if (cleaner !== undefined && cleaner === this.lockspaces.get(event.lockspace)) {
      // Found by the whole-host simulator: a second ballot of our host_id beside the clean's, and
      // the clean's release freed the lease this acquire had just been granted.
      this.fail(event.reqId, {
        code: 'LEASE_HELD_LOCALLY',
        message: `${event.lockspace}:${event.resource} is being given back by the daemon (an acquire its restart interrupted); retry`,
      });
      return;
    }
    if (cleaner !== undefined) this.cleaning.delete(key);
    const limit = this.leases.refusal(event.holder);
    if (limit !== undefined) {
      this.fail(event.reqId, limit);
      return;
    }
    const record: LeaseRecord = {
      lockspace: event.lockspace,
      resource: event.resource,
      mode: event.mode,
      holder: event.holder,
      state: 'acquiring',
      token: '',
      reqId: event.reqId,
      wanted: true,
    };
    this.leases.add(record);
    // The intent is on record before anything is written to the lease.
    this.state({ type: 'put_lease', row: rowOf(record) });
    this.lane({ type: 'acquire', lockspace: event.lockspace, resource: event.resource, mode: event.mode });
  }

  private onAcquireResult(
    lockspace: string,
    resource: string,
    result: Extract<HostEvent, { type: 'acquire_result' }>['result'],
  ): void {
    const record = this.leases.get(lockspace, resource);
    if (record === undefined || record.state !== 'acquiring') {
      // The lockspace was lost meanwhile (its records dropped): nothing may be written for it.
      return;
    }
    const reqId = record.reqId;
    record.reqId = undefined;
    if (!result.ok) {
      this.leases.remove(record);
      this.state({ type: 'delete_lease', lockspace, resource, holder: record.holder });
      if (reqId !== undefined) this.fail(reqId, result.error);
      return;
    }
    record.token = result.token;
    if (!record.wanted || !this.usable(lockspace, this.nowSeconds)) {
      const error: CoreError = record.wanted
        ? {
            code: 'LOCKSPACE_LOST',
            message: `${lockspace}:${resource} was acquired but the lockspace is no longer usable`,
          }
        : { code: 'CLIENT_GONE', message: `${lockspace}:${resource} was acquired but its requester is gone` };
      this.releaseRecord(record);
      if (reqId !== undefined) this.fail(reqId, error);
      return;
    }
    assert(
      this.usable(lockspace, this.nowSeconds),
      'a lease is granted only while the lockspace is joined and within its deadline',
    );
    record.state = 'held';
    this.state({ type: 'put_lease', row: rowOf(record) });
    if (record.holder.kind === 'process') this.out.push({ type: 'watch_holder', holder: record.holder });
    if (reqId !== undefined) this.ok(reqId, leaseValue(record));
  }

  private onRelease(reqId: number, lockspace: string, resource: string, holder: Holder): void {
    if (!this.admit(reqId)) return;
    // After a restart the leases recorded in state are adopted only once the lockspace is joined:
    // "not held" while it starts would be a lie the holder acts on (found by the whole-host simulator).
    const record = this.ownedHeld(reqId, lockspace, resource, holder);
    if (record === undefined) return;
    record.reqId = reqId;
    this.releaseRecord(record);
  }

  /**
   * The held record `holder` may act on, or undefined after failing `reqId` with the reason (the
   * same answers as a release: starting, not held, not the owner, busy).
   */
  private ownedHeld(reqId: number, lockspace: string, resource: string, holder: Holder): LeaseRecord | undefined {
    const owned = this.owned(lockspace, resource, holder);
    if (owned.ok) return owned.record;
    this.fail(reqId, owned.error);
    return undefined;
  }

  /** Why `holder` may not act on its lease of `resource` now (a query: the shell asks before a value-block change). */
  ownedRefusal(lockspace: string, resource: string, holder: Holder): CoreError | undefined {
    const owned = this.owned(lockspace, resource, holder);
    return owned.ok ? undefined : owned.error;
  }

  /** Whether an acquire the restart interrupted is being given back (acquires of it wait for clean_done). */
  isCleaning(lockspace: string, resource: string): boolean {
    return this.cleaning.has(leaseKey(lockspace, resource));
  }

  private owned(
    lockspace: string,
    resource: string,
    holder: Holder,
  ): { ok: true; record: LeaseRecord } | { ok: false; error: CoreError } {
    const record = this.leases.get(lockspace, resource);
    if (record === undefined && this.lockspaces.get(lockspace)?.state.kind === 'starting')
      return {
        ok: false,
        error: { code: 'LOCKSPACE_STARTING', message: `lockspace ${lockspace} is still starting; retry` },
      };
    if (record === undefined || record.state === 'acquiring')
      return { ok: false, error: { code: 'NOT_HELD', message: `${lockspace}:${resource} is not held on this host` } };
    if (holderKey(record.holder) !== holderKey(holder))
      return {
        ok: false,
        error: {
          code: 'NOT_OWNER',
          message: `${lockspace}:${resource} is held by ${describeHolder(record.holder)}, not by you`,
          details: { holder: describeHolder(record.holder) },
        },
      };
    if (record.state !== 'held')
      return {
        ok: false,
        error: { code: 'NOT_HELD', message: `${lockspace}:${resource} is ${busyWording(record.state)}` },
      };
    return { ok: true, record };
  }

  private onCancelAcquire(lockspace: string, resource: string): void {
    const record = this.leases.get(lockspace, resource);
    if (record !== undefined && record.state === 'acquiring') record.wanted = false;
  }

  /** A conversion is disk I/O on the held lease: the record is busy (no release beside it) until its result. */
  private onConvert(event: Extract<HostEvent, { type: 'convert' }>): void {
    if (!this.admit(event.reqId)) return;
    const record = this.ownedHeld(event.reqId, event.lockspace, event.resource, event.holder);
    if (record === undefined) return;
    if (record.mode === event.mode) {
      this.ok(event.reqId, leaseValue(record));
      return;
    }
    const refusal = this.refusal(event.lockspace);
    if (refusal !== undefined) {
      this.fail(event.reqId, refusal);
      return;
    }
    record.state = 'converting';
    record.reqId = event.reqId;
    this.lane({
      type: 'convert',
      lockspace: event.lockspace,
      resource: event.resource,
      mode: event.mode,
      token: record.token,
    });
  }

  private onConvertResult(
    lockspace: string,
    resource: string,
    result: Extract<HostEvent, { type: 'convert_result' }>['result'],
  ): void {
    const record = this.leases.get(lockspace, resource);
    if (record === undefined || record.state !== 'converting') return; // dropped by a loss meanwhile
    const reqId = record.reqId;
    record.reqId = undefined;
    record.state = 'held';
    const now = result.ok ? result : result.still;
    if (now !== undefined) {
      record.token = now.token;
      record.mode = now.mode;
      this.state({ type: 'put_lease', row: rowOf(record) });
    }
    if (reqId !== undefined) {
      if (result.ok) this.ok(reqId, leaseValue(record));
      else this.fail(reqId, result.error);
    }
    // Its holder exited while the conversion ran: what it holds now is given back.
    if (!record.wanted) this.releaseRecord(record);
  }

  private onUpdateToken(event: Extract<HostEvent, { type: 'update_token' }>): void {
    if (!this.admit(event.reqId)) return;
    const record = this.ownedHeld(event.reqId, event.lockspace, event.resource, event.holder);
    if (record === undefined) return;
    record.token = event.token;
    this.state({ type: 'put_lease', row: rowOf(record) });
    this.ok(event.reqId, { kind: 'updated', lockspace: event.lockspace, resource: event.resource });
  }

  /** Release through the lane while the lockspace is usable; otherwise the lease is just forgotten (it expires with our host_id). */
  private releaseRecord(record: LeaseRecord): void {
    record.state = 'releasing';
    if (this.usable(record.lockspace, this.nowSeconds)) {
      this.lane({ type: 'release', lockspace: record.lockspace, resource: record.resource, token: record.token });
      return;
    }
    this.onReleaseResult(record.lockspace, record.resource);
  }

  private onReleaseResult(lockspace: string, resource: string): void {
    const record = this.leases.get(lockspace, resource);
    if (record === undefined || record.state !== 'releasing') return; // dropped by a loss meanwhile
    this.leases.remove(record);
    this.state({ type: 'delete_lease', lockspace, resource, holder: record.holder });
    if (record.reqId !== undefined) this.ok(record.reqId, { kind: 'released', lockspace, resource });
  }

  private onClientExit(holder: Holder): void {
    for (const record of this.leases.ofHolder(holder)) {
      if (record.state === 'acquiring' || record.state === 'converting') record.wanted = false;
      else if (record.state === 'held') this.releaseRecord(record);
    }
    for (const name of this.kills.names()) this.onHolderGone(name, holder);
  }

  // ------------------------------------------------------------------------------ shutdown

  /** Clean shutdown: leave every joined lockspace that holds no leases (its row is kept, to restart). */
  private onShutdown(): void {
    this.closing = true;
    for (const ls of [...this.lockspaces.values()]) {
      const state = ls.state;
      if (state.kind === 'joined' && this.leases.inLockspace(ls.name).length === 0) this.leave(ls, true);
      else if (state.kind === 'starting' && !state.cancelled) {
        ls.cancelStart();
        if (state.phase === 'join' || state.phase === 'resume') this.lane({ type: 'cancel_join', name: ls.name });
      }
    }
  }
}

function rowOf(record: LeaseRecord): LeaseRow {
  return {
    lockspace: record.lockspace,
    resource: record.resource,
    mode: record.mode,
    holder: record.holder,
    token: record.token,
  };
}

function leaseValue(record: LeaseRecord): ReplyValue {
  return {
    kind: 'lease',
    lockspace: record.lockspace,
    resource: record.resource,
    mode: record.mode,
    token: record.token,
  };
}

function busyWording(state: LeaseRecord['state']): string {
  return state === 'releasing' ? 'being released' : state === 'converting' ? 'being converted' : state;
}

function uniqueHolders(holders: Holder[]): Holder[] {
  const byKey = new Map<string, Holder>();
  for (const holder of holders) byKey.set(holderKey(holder), holder);
  return [...byKey.values()];
}
