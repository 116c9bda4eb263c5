/** A whole-host simulation run: machines running the daemon's host core, clients, faults. */
import type { LeaseMode, RevertedFix } from '@leasehold/host-core';

export const RESOURCES = ['r1', 'r2'] as const;
export const PERSISTENT_RESOURCE = 'lv1';
export type ResourceName = (typeof RESOURCES)[number] | typeof PERSISTENT_RESOURCE;

export interface ClientOp {
  resource: (typeof RESOURCES)[number];
  mode: LeaseMode;
  holdSeconds: number;
  gapSeconds: number;
  /** Exit while holding instead of releasing. */
  crash: boolean;
  /** Halfway through the hold, convert the lease to this mode (the daemon's convert). */
  convertTo?: LeaseMode | undefined;
}

export interface ClientPlan {
  startAtSeconds: number;
  /** Ignores SIGTERM (only SIGKILL stops it). */
  stubborn: boolean;
  ops: ClientOp[];
}

export interface PersistentPlan {
  atSeconds: number;
  holdSeconds: number;
}

export interface MachinePlan {
  machine: string;
  hostId: number;
  clients: ClientPlan[];
  /** A persistent lease (an active LV) taken by the operator. */
  persistent: PersistentPlan | undefined;
  /** A kill command is configured: it stops the users of persistent leases. */
  killCommand: boolean;
}

export type HostFault =
  /** The daemon process dies; it is started again (with its state) after a while. */
  | { kind: 'daemon-crash'; machine: string; atSeconds: number; restartAfterSeconds: number }
  /** The machine's path to the storage hangs. */
  | { kind: 'hang'; machine: string; atSeconds: number; durationSeconds: number }
  /** Power loss; the machine boots again after a while. */
  | { kind: 'machine-crash'; machine: string; atSeconds: number; rebootAfterSeconds: number }
  /** The operator stops the lockspace (after releasing its persistent lease) and starts it again later. */
  | { kind: 'lockstop'; machine: string; atSeconds: number; restartAfterSeconds: number };

export interface HostScenario {
  seed: number;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  killGraceSeconds: number;
  /** Largest delay of one companion message. */
  companionLatencySeconds: number;
  maxIoLatencySeconds: number;
  durationSeconds: number;
  machines: MachinePlan[];
  faults: HostFault[];
  /** Test-only: run the core with one fixed bug put back. */
  revertedFix?: RevertedFix;
}
