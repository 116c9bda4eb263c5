/**
 * One lockspace as the daemon shows it: where it is, which host_id and generation we hold, its state,
 * the deadline of its delta lease, and what it has seen lately (host table, renewal history, events).
 * Its state is the host core's LockspaceMachine: in the daemon the core makes every transition and
 * the LockspaceManager copies the facts over after each step (followCore). The `become*` methods
 * drive a standalone machine (each asserts the state it leaves); the daemon never calls them.
 */
import type { Geometry } from '@leasehold/ondisk';
import { assert, assertNever, LockspaceMachine, type HostIdSource } from '@leasehold/host-core';
import {
  deltaDeadlineSeconds,
  hostState,
  type Clock,
  type DeltaEvent,
  type DeltaLeaseConfig,
  type HostStatus,
} from '@leasehold/lease';
import type { WireError } from '@leasehold/protocol';
import { EVENT_BACKLOG_LENGTH, RENEWAL_HISTORY_LENGTH } from '@leasehold/protocol';
import type {
  EventInfo,
  HostInfo,
  LockspaceInfo,
  LockspaceState,
  ProgressInfo,
  RenewalRecord,
} from '@leasehold/protocol';
import { RingBuffer } from '../util/ring-buffer.js';
import { monotonicClock } from '../util/monotonic.js';

export type { HostIdSource };

/** What a joined lockspace holds: never null while joined. */
export interface JoinedLockspace {
  hostId: number;
  generation: bigint;
  geometry: Geometry;
  lastRenewalSeconds: number;
}

interface RenewalEntry {
  startedSeconds: number;
  durationMs: number;
  ok: boolean;
  code?: string;
  message?: string;
}

export class Lockspace {
  private readonly machine: LockspaceMachine;
  hostId: number | null = null;
  hostIdSource: HostIdSource | null = null;
  generation: bigint | null = null;
  geometry: Geometry | null = null;
  lastRenewalSeconds: number | null = null;
  hosts: HostStatus[] = [];
  error: WireError | undefined;
  /** Bumped when the lockspace is moved to another renewal lane (its old lane stalled). */
  laneEpoch = 0;
  /** Resolves when the start finishes (joined, or failed/stopped: then it rejects). */
  readonly started: Promise<void>;
  readonly startedAtSeconds: number;
  private readonly renewals = new RingBuffer<RenewalEntry>(RENEWAL_HISTORY_LENGTH);
  private readonly events = new RingBuffer<EventInfo>(EVENT_BACKLOG_LENGTH);
  private eventSeq = 0;
  private readonly progressListeners = new Set<(progress: ProgressInfo) => void>();
  private settleStart!: { resolve: () => void; reject: (error: Error) => void };

  constructor(
    readonly name: string,
    readonly path: string,
    readonly offsetBytes: number,
    readonly hostIdRequest: number | 'auto',
    readonly ioTimeoutSeconds: number,
    readonly watchdogFireTimeoutSeconds: number,
    private readonly clock: Clock = monotonicClock,
    /** The host core's machine of this lockspace; a standalone one when not given. */
    machine?: LockspaceMachine,
  ) {
    this.machine =
      machine ??
      new LockspaceMachine(
        { name, path, offsetBytes, hostIdRequest, configuredHostId: undefined, rememberedHostId: undefined },
        undefined,
      );
    this.startedAtSeconds = clock.nowSeconds();
    this.started = new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    // Nobody may be waiting; an unobserved rejection must not crash the daemon.
    this.started.catch(() => undefined);
  }

  deltaConfig(hostId: number, hostName: string): DeltaLeaseConfig {
    return {
      spaceName: this.name,
      hostId,
      areaOffsetBytes: this.offsetBytes,
      hostName,
      ioTimeoutSeconds: this.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: this.watchdogFireTimeoutSeconds,
    };
  }

  /** The state users see: a start being cancelled shows as stopping, a failed start as failed. */
  get state(): LockspaceState {
    const state = this.machine.state;
    switch (state.kind) {
      case 'starting':
        return state.cancelled ? 'stopping' : 'starting';
      case 'joined':
      case 'stopping':
      case 'lost':
        return state.kind;
      case 'stopped':
        return 'failed';
      default:
        return assertNever(state, 'lockspace state');
    }
  }

  /** The host core's machine this view follows. */
  get core(): LockspaceMachine {
    return this.machine;
  }

  /** Copies what the host core decided into what users see (after every step of the core). */
  followCore(): void {
    const state = this.machine.state;
    switch (state.kind) {
      case 'starting':
        if (state.hostIdSource !== null) this.hostIdSource = state.hostIdSource;
        if (state.joined !== undefined) this.noteJoined(state.joined);
        return;
      case 'joined':
        this.hostIdSource = state.hostIdSource;
        this.error = undefined;
        this.noteJoined(state.facts);
        return;
      case 'lost':
        this.error = { ...state.error };
        return;
      case 'stopped':
        if (state.error !== undefined) this.error = { ...state.error };
        return;
      case 'stopping':
        return;
      default:
        assertNever(state, 'lockspace state');
    }
  }

  private noteJoined(facts: { hostId: number; generation: bigint; lastRenewalSeconds: number }): void {
    this.hostId = facts.hostId;
    this.generation = facts.generation;
    this.lastRenewalSeconds = Math.max(this.lastRenewalSeconds ?? 0, facts.lastRenewalSeconds);
  }

  /** The companion acknowledged the registration of our delta lease: the lockspace may be used. */
  becomeJoined(joined: { hostId: number; generation: bigint; geometry: Geometry; lastRenewalSeconds: number }): void {
    this.machine.enterPhase('register');
    this.machine.becomeJoined(
      { hostId: joined.hostId, generation: joined.generation, lastRenewalSeconds: joined.lastRenewalSeconds },
      this.hostIdSource ?? 'given',
    );
    this.error = undefined;
    this.hostId = joined.hostId;
    this.generation = joined.generation;
    this.geometry = joined.geometry;
    this.lastRenewalSeconds = Math.max(this.lastRenewalSeconds ?? 0, joined.lastRenewalSeconds);
  }

  /** lockstop or shutdown while starting: the start gives back whatever it gets. */
  cancelStart(): void {
    this.machine.cancelStart();
  }

  becomeFailed(error: WireError): void {
    this.machine.becomeStopped({ code: error.code, message: error.message });
    this.error = error;
  }

  becomeStopping(): void {
    this.machine.becomeStopping(undefined, false);
  }

  becomeLost(error: WireError): void {
    this.machine.becomeLost({ code: error.code, message: error.message });
    this.error = error;
  }

  /** What a joined lockspace holds (asserted joined: never read through a null). */
  joinedFacts(): JoinedLockspace {
    const { hostId, generation, geometry, lastRenewalSeconds } = this;
    assert(
      this.state === 'joined' &&
        hostId !== null &&
        generation !== null &&
        geometry !== null &&
        lastRenewalSeconds !== null,
      `${this.name}: joined facts read while ${this.state}`,
    );
    return { hostId, generation, geometry, lastRenewalSeconds };
  }

  get expiresAtSeconds(): number | null {
    return this.lastRenewalSeconds === null
      ? null
      : deltaDeadlineSeconds(this.lastRenewalSeconds, this.ioTimeoutSeconds);
  }

  /** The deadline of a joined lockspace (asserted joined). */
  joinedDeadlineSeconds(): number {
    return deltaDeadlineSeconds(this.joinedFacts().lastRenewalSeconds, this.ioTimeoutSeconds);
  }

  /** True while our delta lease is joined and within its deadline: resource leases may be used. */
  get usable(): boolean {
    const expires = this.expiresAtSeconds;
    return this.state === 'joined' && expires !== null && this.clock.nowSeconds() < expires;
  }

  private movedWaiters: Array<(error: Error) => void> = [];

  /** Bumped when the lockspace is detached from its resource lane (idle, lost, or the lane stalled). */
  resourceEpoch = 0;
  private resourceMovedWaiters: Array<(error: Error) => void> = [];

  markResourceMoved(): void {
    this.resourceEpoch++;
    const waiters = this.resourceMovedWaiters;
    this.resourceMovedWaiters = [];
    for (const reject of waiters) reject(new MovedError(this.name));
  }

  whenResourceMoved(epoch: number): Promise<never> {
    if (this.resourceEpoch !== epoch) return Promise.reject(new MovedError(this.name));
    return new Promise<never>((_resolve, reject) => this.resourceMovedWaiters.push(reject));
  }

  /** The renewal lane changed under whatever was waiting on the old one. */
  markMoved(): void {
    this.laneEpoch++;
    const waiters = this.movedWaiters;
    this.movedWaiters = [];
    for (const reject of waiters) reject(new MovedError(this.name));
  }

  /** Rejects with MovedError once the lane epoch is past `epoch`. */
  whenMoved(epoch: number): Promise<never> {
    if (this.laneEpoch !== epoch) return Promise.reject(new MovedError(this.name));
    return new Promise<never>((_resolve, reject) => this.movedWaiters.push(reject));
  }

  markStarted(): void {
    this.settleStart.resolve();
  }

  markStartFailed(error: Error): void {
    this.settleStart.reject(error);
  }

  recordRenewal(entry: RenewalEntry): void {
    this.renewals.push(entry);
  }

  renewalHistory(limit: number): RenewalRecord[] {
    const now = this.clock.nowSeconds();
    return this.renewals
      .toArray()
      .slice(-limit)
      .map((entry) => ({
        startedSecondsAgo: round(now - entry.startedSeconds),
        durationMs: entry.durationMs,
        ok: entry.ok,
        ...(entry.code === undefined ? {} : { code: entry.code }),
        ...(entry.message === undefined ? {} : { message: entry.message }),
      }));
  }

  addEvent(event: DeltaEvent): void {
    this.eventSeq++;
    this.events.push({
      seq: this.eventSeq,
      fromHostId: event.fromHostId,
      fromGeneration: event.fromGeneration.toString(),
      targetGeneration: event.targetGeneration.toString(),
      event: event.event.toString(),
      data: event.data.toString(),
    });
  }

  eventsAfter(afterSeq: number): { events: EventInfo[]; lastSeq: number } {
    return { events: this.events.toArray().filter((event) => event.seq > afterSeq), lastSeq: this.eventSeq };
  }

  onProgress(listener: (progress: ProgressInfo) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  progress(phase: string, message: string, expectedSeconds?: number): void {
    const info: ProgressInfo = {
      lockspace: this.name,
      phase,
      message,
      elapsedSeconds: round(this.clock.nowSeconds() - this.startedAtSeconds),
      ...(expectedSeconds === undefined ? {} : { expectedSeconds }),
    };
    for (const listener of this.progressListeners) listener(info);
  }

  info(leaseCount: number): LockspaceInfo {
    const now = this.clock.nowSeconds();
    const expires = this.expiresAtSeconds;
    return {
      lockspace: this.name,
      state: this.state,
      hostId: this.hostId,
      hostIdSource: this.hostIdSource,
      generation: this.generation === null ? null : this.generation.toString(),
      path: this.path,
      offsetBytes: this.offsetBytes,
      ioTimeoutSeconds: this.ioTimeoutSeconds,
      renewedSecondsAgo: this.lastRenewalSeconds === null ? null : round(now - this.lastRenewalSeconds),
      expiresInSeconds: expires === null || this.state !== 'joined' ? null : round(expires - now),
      leaseCount,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  hostInfos(): HostInfo[] {
    const now = this.clock.nowSeconds();
    const params = {
      selfHostId: this.hostId ?? 0,
      ourIoTimeoutSeconds: this.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: this.watchdogFireTimeoutSeconds,
    };
    return this.hosts.map((status) => ({
      hostId: status.hostId,
      // Judged by the lease layer's rule from the latest sample (as the renewal lane does).
      state: hostState(status, now, params, status.hostId === this.hostId && this.state === 'joined'),
      generation: status.generation.toString(),
      timestamp: status.timestamp.toString(),
      hostName: status.hostName,
      ioTimeoutSeconds: status.ioTimeoutSeconds,
      lastLiveSecondsAgo: status.lastLiveSeconds === undefined ? null : round(now - status.lastLiveSeconds),
      self: status.hostId === this.hostId,
    }));
  }
}

/** The lockspace was moved to another renewal lane while a call on the old one was pending. */
export class MovedError extends Error {
  override readonly name = 'MovedError';
  constructor(lockspace: string) {
    super(`lockspace ${lockspace} moved to another renewal lane`);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
