import type { Prng } from './prng.js';

/**
 * The behaviour of one storage path (a host's path to the shared disk) or of the shared disk itself.
 * Plain mutable settings: a test or a fault schedule changes them at chosen virtual times.
 */
export interface IoFaultSettings {
  /** Every I/O takes a latency uniform in [min, max]. */
  minLatencySeconds: number;
  maxLatencySeconds: number;
  /**
   * Latencies are rounded to this step (0 = continuous). A coarse step makes I/Os of different
   * hosts finish at the same virtual moment, which hands their order to the tie chooser.
   */
  latencyQuantumSeconds: number;
  /** Chance that an I/O is slow instead, with a latency uniform in [min, max] of the slow range. */
  slowProbability: number;
  slowMinLatencySeconds: number;
  slowMaxLatencySeconds: number;
  /** Chance that an I/O fails with EIO. A failing write may still land, in full or in part. */
  failProbability: number;
  /** Multi-sector writes may land in pieces at different moments (and only partly on crash or EIO). */
  tornWrites: boolean;
  /** Chance that a read returns sectors as they were up to `staleWindowSeconds` earlier (breaks the Disk contract: off unless a test wants it). */
  staleReadProbability: number;
  staleWindowSeconds: number;
}

export const DEFAULT_IO_FAULT_SETTINGS: Readonly<IoFaultSettings> = {
  minLatencySeconds: 0.0005,
  maxLatencySeconds: 0.02,
  latencyQuantumSeconds: 0,
  slowProbability: 0,
  slowMinLatencySeconds: 0.5,
  slowMaxLatencySeconds: 5,
  failProbability: 0,
  tornWrites: false,
  staleReadProbability: 0,
  staleWindowSeconds: 0,
};

/** Something parked on a hung path, to run when the hang is lifted. */
export type ParkedWork = () => void;

/** Settings plus the "hung" state of a path: while hung, completions (and some writes) wait. */
export class IoFaults {
  readonly settings: IoFaultSettings;
  private hungSince: number | undefined;
  private parked: ParkedWork[] = [];

  constructor(settings: Partial<IoFaultSettings> = {}) {
    this.settings = { ...DEFAULT_IO_FAULT_SETTINGS, ...settings };
  }

  get hung(): boolean {
    return this.hungSince !== undefined;
  }

  /** From now on nothing completes on this path until `releaseHang()` (maybe never). */
  hang(nowSeconds: number): void {
    this.hungSince ??= nowSeconds;
  }

  park(work: ParkedWork): void {
    this.parked.push(work);
  }

  /** Lifts the hang and runs the parked work in the order it was parked. Call from a world action. */
  releaseHang(): void {
    this.hungSince = undefined;
    const parked = this.parked;
    this.parked = [];
    for (const work of parked) work();
  }

  /** Applies a partial change, e.g. `{ failProbability: 1 }`; returns the old values to restore later. */
  change(patch: Partial<IoFaultSettings>): Partial<IoFaultSettings> {
    const previous: Partial<IoFaultSettings> = {};
    for (const key of Object.keys(patch) as (keyof IoFaultSettings)[]) {
      (previous as Record<string, unknown>)[key] = this.settings[key];
    }
    Object.assign(this.settings, patch);
    return previous;
  }
}

/** Draws one I/O's latency from the combined settings of the paths it crosses. */
export function drawLatencySeconds(random: Prng, paths: readonly IoFaults[]): number {
  let latencySeconds = 0;
  for (const { settings } of paths) {
    const slow = random.chance(settings.slowProbability);
    const minimum = slow ? settings.slowMinLatencySeconds : settings.minLatencySeconds;
    const maximum = slow ? settings.slowMaxLatencySeconds : settings.maxLatencySeconds;
    let part = random.uniform(minimum, Math.max(minimum, maximum));
    if (settings.latencyQuantumSeconds > 0) {
      part = Math.round(part / settings.latencyQuantumSeconds) * settings.latencyQuantumSeconds;
    }
    latencySeconds += part;
  }
  return latencySeconds;
}

/** True if any path fails this I/O. */
export function drawFailure(random: Prng, paths: readonly IoFaults[]): boolean {
  return paths.some((path) => random.chance(path.settings.failProbability));
}

export function anyTornWrites(paths: readonly IoFaults[]): boolean {
  return paths.some((path) => path.settings.tornWrites);
}

/** How far back a stale read looks, or 0 for a fresh read. */
export function drawStaleAgeSeconds(random: Prng, paths: readonly IoFaults[]): number {
  let ageSeconds = 0;
  for (const { settings } of paths) {
    if (random.chance(settings.staleReadProbability)) {
      ageSeconds = Math.max(ageSeconds, random.uniform(0, settings.staleWindowSeconds));
    }
  }
  return ageSeconds;
}

export function firstHung(paths: readonly IoFaults[]): IoFaults | undefined {
  return paths.find((path) => path.hung);
}
