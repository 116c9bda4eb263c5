/**
 * One lockspace's lifecycle as a discriminated union. Every transition is a `become*` method that
 * asserts the state it leaves (etcd raft's becomeFollower/becomeLeader), so an event that arrives
 * in the wrong state stops the process instead of silently corrupting the picture.
 *
 *   starting ──(companion acked the registration)──> joined ──(deadline / lane says lost)──> lost
 *      │                                                │                                     │
 *      │ (start failed / cancelled)                     │ (lockstop, no leases)               │ (lockstop)
 *      v                                                v                                     v
 *   stopped <──────────(leave done / leave timed out)── stopping                           stopped
 */
import { assert } from './assert.js';
import type { CoreError, HostIdSource, JoinedFacts, LeaseRow, LockspaceStateKind } from './types.js';

/** Steps of a start, in order; a step may be skipped ('resume' only after a restart). */
export type StartPhase = 'prepare' | 'resume' | 'old-holders' | 'join' | 'register';

export interface Recovery {
  hostId: number;
  /** The generation to resume; 0n when it cannot be resumed (then the stored holders must die first). */
  generation: bigint;
  stored: LeaseRow[];
}

export type LockspaceState =
  | {
      kind: 'starting';
      phase: StartPhase;
      hostIdSource: HostIdSource | null;
      /** The delta lease, once the lane holds it (phase 'register'). */
      joined: JoinedFacts | undefined;
      recovery: Recovery | undefined;
      /** lockstop came while starting: give the lease back as soon as the lane returns it. */
      cancelled: boolean;
      /** The remembered host_id was tried and found taken. */
      rememberedTaken: boolean;
    }
  | { kind: 'joined'; facts: JoinedFacts; hostIdSource: HostIdSource }
  | { kind: 'stopping'; facts: JoinedFacts | undefined; leaveDeadlineSeconds: number | undefined; keepRow: boolean }
  | { kind: 'lost'; facts: JoinedFacts; error: CoreError }
  | { kind: 'stopped'; error: CoreError | undefined };

export interface LockspaceSpec {
  name: string;
  path: string;
  offsetBytes: number;
  hostIdRequest: number | 'auto';
  configuredHostId: number | undefined;
  rememberedHostId: number | undefined;
}

export class LockspaceMachine {
  private current: LockspaceState;
  /** Requests waiting for the start to finish (lockstart --wait). */
  readonly startWaiters: number[] = [];
  /** Requests waiting for the stop to finish (lockstop --wait). */
  readonly stopWaiters: number[] = [];

  constructor(
    readonly spec: LockspaceSpec,
    recovery: Recovery | undefined,
  ) {
    this.current = {
      kind: 'starting',
      phase: 'prepare',
      hostIdSource: null,
      joined: undefined,
      recovery,
      cancelled: false,
      rememberedTaken: false,
    };
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): Readonly<LockspaceState> {
    return this.current;
  }

  get kind(): LockspaceStateKind {
    return this.current.kind;
  }

  /** The starting state, asserted. */
  starting(): Extract<LockspaceState, { kind: 'starting' }> {
    assert(this.current.kind === 'starting', `${this.name}: expected starting, is ${this.current.kind}`);
    return this.current;
  }

  joinedState(): Extract<LockspaceState, { kind: 'joined' }> {
    assert(this.current.kind === 'joined', `${this.name}: expected joined, is ${this.current.kind}`);
    return this.current;
  }

  /** Moves a start on to its next phase (phases only go forward, except join after a failed resume). */
  enterPhase(phase: StartPhase): void {
    const starting = this.starting();
    starting.phase = phase;
  }

  /** lockstop or shutdown while starting: the start gives back whatever it gets, and ends. */
  cancelStart(): void {
    const starting = this.starting();
    starting.cancelled = true;
  }

  becomeJoined(facts: JoinedFacts, hostIdSource: HostIdSource): void {
    const starting = this.starting();
    assert(!starting.cancelled, `${this.name}: a cancelled start never joins`);
    this.current = { kind: 'joined', facts, hostIdSource };
  }

  /** lockstop (or shutdown) of a joined lockspace, or a cancelled start whose lane returned the lease. */
  becomeStopping(leaveDeadlineSeconds: number | undefined, keepRow: boolean): void {
    const from = this.current;
    assert(
      from.kind === 'joined' || (from.kind === 'starting' && from.cancelled),
      `${this.name}: stopping from ${from.kind}`,
    );
    const facts = from.kind === 'joined' ? from.facts : from.joined;
    this.current = { kind: 'stopping', facts, leaveDeadlineSeconds, keepRow };
  }

  becomeLost(error: CoreError): void {
    const from = this.current;
    assert(from.kind === 'joined', `${this.name}: only a joined lockspace can be lost (is ${from.kind})`);
    this.current = { kind: 'lost', facts: from.facts, error };
  }

  becomeStopped(error: CoreError | undefined): void {
    assert(this.current.kind !== 'stopped', `${this.name}: already stopped`);
    this.current = { kind: 'stopped', error };
  }

  /** Renewal moved our deadline (never backwards). */
  renewed(lastRenewalSeconds: number): void {
    const joined = this.joinedState();
    joined.facts = {
      ...joined.facts,
      lastRenewalSeconds: Math.max(joined.facts.lastRenewalSeconds, lastRenewalSeconds),
    };
  }
}
