/** The chaos run's settings and the limits they must keep to. */
import { hostDeadSeconds, idRenewalSeconds } from '@leasehold/lease';

export const MIN_CHAOS_HOSTS = 3;
export const MAX_CHAOS_HOSTS = 5;
export const MAX_CHAOS_LVS = 32;
export const MAX_SLOTS_PER_LV = 2048;
export const MAX_WRITERS_PER_HOST = 4;
export const CHAOS_VG = 'vg0';
export const SHARED_LV = 'shared0';
export const WORKER_LV_PREFIX = 'lv';
export const CHURN_LV_PREFIX = 'churn';
/** The peer hosts a run may add (docs/timing.md "The chaos run"), in the order of their host_ids. */
export const PEER_KINDS = ['lvmlockd', 'sanlock'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

export interface ChaosOptions {
  /** Everything the run leaves (histories, cluster logs, the PV image on failure) goes here. */
  dir: string;
  hosts: number;
  durationSeconds: number;
  /** Exclusive-write LVs lv0..; plus one shared-read LV. */
  lvs: number;
  slotsPerLv: number;
  /** Writers per host, each on its own share of the LVs. */
  writersPerHost: number;
  writesPerCycle: number;
  writePauseMs: number;
  faultIntervalSeconds: number;
  churnIntervalSeconds: number;
  /** How long an emulated host takes to boot again after a reset or power cycle. */
  bootDelaySeconds: number;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  pvSizeBytes: number;
  seed: number;
  /** Peer hosts taking the same leases with the real tools (host_ids after the leasehold hosts'). */
  peers: readonly PeerKind[];
  /** The lvmlockd peer's lvchange takes the VG lock (the default); false: `--lockopt skipvg`. */
  peerVgLock: boolean;
  /** Keep the PV image even when the run is clean. */
  keep: boolean;
  nodePath: string;
  cliPath: string;
}

export function workerLvs(options: Pick<ChaosOptions, 'lvs'>): string[] {
  return Array.from({ length: options.lvs }, (_, index) => `${WORKER_LV_PREFIX}${index}`);
}

/** `--peers lvmlockd,sanlock` (or `none`); undefined when a name is unknown or repeated. */
export function parsePeerKinds(text: string): PeerKind[] | undefined {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'none');
  const kinds = names.filter((name): name is PeerKind => (PEER_KINDS as readonly string[]).includes(name));
  if (kinds.length !== names.length || new Set(kinds).size !== kinds.length) return undefined;
  return PEER_KINDS.filter((kind) => kinds.includes(kind));
}

/** The peers' host_ids (and hostN names): right after the leasehold hosts', in PEER_KINDS order. */
export function peerHostIds(options: Pick<ChaosOptions, 'hosts' | 'peers'>): Array<{ kind: PeerKind; hostId: number }> {
  return options.peers.map((kind, index) => ({ kind, hostId: options.hosts + 1 + index }));
}

/**
 * The least time from a fault that stops a host's renewals to a legal takeover of its leases:
 * host_dead (8 io + W after its last renewal), less one renewal interval (it may have renewed that
 * long before the fault) and one io_timeout (a renewal's timestamp is taken before its write).
 */
export function minTakeoverDelaySeconds(ioTimeoutSeconds: number, watchdogFireTimeoutSeconds: number): number {
  return (
    hostDeadSeconds(ioTimeoutSeconds, watchdogFireTimeoutSeconds) -
    idRenewalSeconds(ioTimeoutSeconds) -
    ioTimeoutSeconds
  );
}

export function validateChaosOptions(options: ChaosOptions): string | undefined {
  if (!Number.isInteger(options.hosts) || options.hosts < MIN_CHAOS_HOSTS || options.hosts > MAX_CHAOS_HOSTS)
    return `--hosts must be ${MIN_CHAOS_HOSTS}-${MAX_CHAOS_HOSTS}, got ${options.hosts}`;
  if (!Number.isInteger(options.lvs) || options.lvs < 1 || options.lvs > MAX_CHAOS_LVS)
    return `--lvs must be 1-${MAX_CHAOS_LVS}, got ${options.lvs}`;
  if (!Number.isInteger(options.slotsPerLv) || options.slotsPerLv < 1 || options.slotsPerLv > MAX_SLOTS_PER_LV)
    return `--slots must be 1-${MAX_SLOTS_PER_LV}, got ${options.slotsPerLv}`;
  if (
    !Number.isInteger(options.writersPerHost) ||
    options.writersPerHost < 1 ||
    options.writersPerHost > Math.min(MAX_WRITERS_PER_HOST, options.lvs)
  )
    return `--writers must be 1-${Math.min(MAX_WRITERS_PER_HOST, options.lvs)} (at most one per LV), got ${options.writersPerHost}`;
  if (!(options.durationSeconds > 0)) return `--duration must be positive`;
  return undefined;
}
