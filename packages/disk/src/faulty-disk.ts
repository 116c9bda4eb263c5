import { checkIo, type Disk, DiskError } from './disk.js';
import { type Fault, type FaultId, type FaultRule, type IoKind, ruleMatches, validateFaultRule } from './faults.js';
import { emptyIoStats, type IoStats } from './io-stats.js';
import { DEFAULT_HISTORY_DEPTH, SectorHistory } from './sector-history.js';

const MILLISECONDS_PER_SECOND = 1000;

export interface FaultyDiskOptions {
  /** Sleeps for latency and hang timeouts; pass the simulator's virtual-time sleep. Default: real timers. */
  sleep?: (seconds: number) => Promise<void>;
  /** Uniform in [0, 1), for EIO probabilities and random tear points. Default: Math.random. */
  random?: () => number;
  /**
   * Where written sector versions are kept for stale reads: a SectorHistory (share one between the
   * wrappers of one disk), false for none, or absent for a private one of `historyDepth` versions.
   */
  history?: SectorHistory | false;
  historyDepth?: number;
  /** Whether close() closes the wrapped disk too (default true; false for per-host views of a shared disk). */
  closeInner?: boolean;
}

export type ReleaseOutcome = 'complete' | 'eio';

/** An I/O held by a hang fault. */
export interface HungIo {
  kind: IoKind;
  offsetBytes: number;
  lengthBytes: number;
  /** The caller already got ETIMEDOUT; a write released with 'complete' still lands. */
  timedOut: boolean;
}

interface ActiveRule {
  id: FaultId;
  rule: FaultRule;
  remaining: number | undefined;
}

interface HungEntry extends HungIo {
  resume: (outcome: ReleaseOutcome) => void;
}

/**
 * Wraps a Disk and injects faults chosen at run time: latency, EIO, hangs, stale reads and torn
 * multi-sector writes, each for reads, writes or both, optionally only over a byte range. It also
 * counts operations and bytes (stats()).
 *
 * Faults apply in this order: latency (all matching rules add up), hang, EIO, then the I/O itself
 * (torn for writes, stale substitution for reads).
 */
export class FaultyDisk implements Disk {
  private readonly sleep: (seconds: number) => Promise<void>;
  private readonly random: () => number;
  private readonly closeInner: boolean;
  private readonly sectorHistory: SectorHistory | undefined;
  private readonly rules = new Map<FaultId, ActiveRule>();
  private readonly hung = new Set<HungEntry>();
  private nextFaultId: FaultId = 1;
  private counts = emptyIoStats();
  private closed = false;

  constructor(
    private readonly inner: Disk,
    options: FaultyDiskOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.closeInner = options.closeInner ?? true;
    if (options.history === false) {
      this.sectorHistory = undefined;
    } else {
      this.sectorHistory =
        options.history ?? new SectorHistory(inner.sectorSize, options.historyDepth ?? DEFAULT_HISTORY_DEPTH);
      if (this.sectorHistory.sectorSize !== inner.sectorSize) {
        throw new RangeError(
          `history sector size ${this.sectorHistory.sectorSize} differs from the disk's ${inner.sectorSize}`,
        );
      }
    }
  }

  get path(): string {
    return this.inner.path;
  }
  get sectorSize(): number {
    return this.inner.sectorSize;
  }
  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }
  get history(): SectorHistory | undefined {
    return this.sectorHistory;
  }

  /** Starts injecting a fault; returns an id for remove(). */
  inject(rule: FaultRule): FaultId {
    validateFaultRule(rule, this.sectorHistory !== undefined);
    const id = this.nextFaultId++;
    this.rules.set(id, { id, rule: { ...rule }, remaining: rule.times });
    return id;
  }

  remove(id: FaultId): boolean {
    return this.rules.delete(id);
  }

  clearFaults(): void {
    this.rules.clear();
  }

  activeFaults(): { id: FaultId; rule: FaultRule; remaining: number | undefined }[] {
    return [...this.rules.values()].map(({ id, rule, remaining }) => ({ id, rule: { ...rule }, remaining }));
  }

  /** I/Os currently held by hang faults (including ones whose callers already timed out). */
  hungOps(): HungIo[] {
    return [...this.hung].map(({ kind, offsetBytes, lengthBytes, timedOut }) => ({
      kind,
      offsetBytes,
      lengthBytes,
      timedOut,
    }));
  }

  /** Lets held I/Os go on ('complete') or fail with EIO; returns how many were released. */
  release(options: { outcome?: ReleaseOutcome; kind?: IoKind } = {}): number {
    let releasedCount = 0;
    for (const entry of [...this.hung]) {
      if (options.kind !== undefined && entry.kind !== options.kind) continue;
      this.hung.delete(entry);
      entry.resume(options.outcome ?? 'complete');
      releasedCount++;
    }
    return releasedCount;
  }

  stats(): IoStats {
    return { ...this.counts };
  }

  resetStats(): void {
    this.counts = emptyIoStats();
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    this.counts.readOps++;
    try {
      this.checkUsable(offsetBytes, lengthBytes);
      const matched = this.matching('read', offsetBytes, lengthBytes);
      await this.applyLatency(matched);
      await this.applyHang(matched, 'read', offsetBytes, lengthBytes, undefined);
      this.applyEio(matched, offsetBytes, lengthBytes);
      const data = await this.inner.read(offsetBytes, lengthBytes);
      this.applyStale(matched, offsetBytes, data);
      this.counts.bytesRead += lengthBytes;
      return data;
    } catch (error) {
      this.counts.failedOps++;
      throw error;
    }
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    this.counts.writeOps++;
    try {
      this.checkUsable(offsetBytes, data.byteLength);
      const payload = data.slice(); // the caller may reuse its buffer while we delay
      const matched = this.matching('write', offsetBytes, payload.byteLength);
      await this.applyLatency(matched);
      await this.applyHang(matched, 'write', offsetBytes, payload.byteLength, () => this.land(offsetBytes, payload));
      const eio = this.firingEio(matched);
      if (eio !== undefined) {
        if (eio.writeLands === true) await this.land(offsetBytes, payload);
        throw injectedError('EIO', 'injected write error', this.path, offsetBytes, payload.byteLength);
      }
      if (await this.applyTorn(matched, offsetBytes, payload)) return;
      await this.land(offsetBytes, payload);
    } catch (error) {
      this.counts.failedOps++;
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeInner) await this.inner.close();
  }

  private checkUsable(offsetBytes: number, lengthBytes: number): void {
    if (this.closed) throw new DiskError('ECLOSED', 'disk is closed', this.path, offsetBytes, lengthBytes);
    checkIo(this, offsetBytes, lengthBytes);
  }

  private matching(kind: IoKind, offsetBytes: number, lengthBytes: number): ActiveRule[] {
    return [...this.rules.values()].filter((active) => ruleMatches(active.rule, kind, offsetBytes, lengthBytes));
  }

  /** Counts one firing of a rule; false if it was removed or used up meanwhile (then it does not apply). */
  private tryFire(active: ActiveRule): boolean {
    if (!this.rules.has(active.id)) return false;
    if (active.remaining !== undefined) {
      active.remaining--;
      if (active.remaining <= 0) this.rules.delete(active.id);
    }
    return true;
  }

  private faultsOf<T extends Fault['type']>(
    matched: ActiveRule[],
    type: T,
  ): { active: ActiveRule; fault: Extract<Fault, { type: T }> }[] {
    return matched
      .filter((active) => active.rule.fault.type === type)
      .map((active) => ({ active, fault: active.rule.fault as Extract<Fault, { type: T }> }));
  }

  private async applyLatency(matched: ActiveRule[]): Promise<void> {
    let delaySeconds = 0;
    for (const { active, fault } of this.faultsOf(matched, 'latency')) {
      if (this.tryFire(active)) delaySeconds += fault.seconds;
    }
    if (delaySeconds > 0) await this.sleep(delaySeconds);
  }

  private async applyHang(
    matched: ActiveRule[],
    kind: IoKind,
    offsetBytes: number,
    lengthBytes: number,
    lateWrite: (() => Promise<void>) | undefined,
  ): Promise<void> {
    const firing = this.faultsOf(matched, 'hang').filter(({ active }) => this.tryFire(active));
    if (firing.length === 0) return;
    const timeouts = firing.flatMap(({ fault }) => (fault.timeoutSeconds === undefined ? [] : [fault.timeoutSeconds]));
    let resume: (outcome: ReleaseOutcome) => void = () => undefined;
    const released = new Promise<ReleaseOutcome>((resolve) => {
      resume = resolve;
    });
    const entry: HungEntry = { kind, offsetBytes, lengthBytes, timedOut: false, resume };
    this.hung.add(entry);
    const outcome =
      timeouts.length === 0
        ? await released
        : await Promise.race([released, this.sleep(Math.min(...timeouts)).then(() => 'timeout' as const)]);
    if (outcome === 'timeout') {
      entry.timedOut = true;
      if (lateWrite !== undefined) {
        // The device still holds the write: it lands if the hang is later released with 'complete'.
        void released.then((late) => (late === 'complete' ? lateWrite() : undefined)).catch(() => undefined);
      }
      throw injectedError('ETIMEDOUT', `injected hang: ${kind} timed out`, this.path, offsetBytes, lengthBytes);
    }
    if (outcome === 'eio')
      throw injectedError('EIO', `injected hang released with EIO`, this.path, offsetBytes, lengthBytes);
  }

  /** The first EIO fault that fires for this I/O, if any. */
  private firingEio(matched: ActiveRule[]): Extract<Fault, { type: 'eio' }> | undefined {
    for (const { active, fault } of this.faultsOf(matched, 'eio')) {
      const probability = fault.probability ?? 1;
      const hit = probability >= 1 || this.random() < probability;
      if (hit && this.tryFire(active)) return fault;
    }
    return undefined;
  }

  private applyEio(matched: ActiveRule[], offsetBytes: number, lengthBytes: number): void {
    if (this.firingEio(matched) !== undefined)
      throw injectedError('EIO', 'injected read error', this.path, offsetBytes, lengthBytes);
  }

  /** Lands a prefix of a multi-sector write if a torn fault fires; returns true if the write is finished. */
  private async applyTorn(matched: ActiveRule[], offsetBytes: number, payload: Uint8Array): Promise<boolean> {
    const sectorCount = payload.byteLength / this.sectorSize;
    if (sectorCount < 2) return false; // one sector is written atomically
    const torn = this.faultsOf(matched, 'torn').find(({ active }) => this.tryFire(active));
    if (torn === undefined) return false;
    const requested = torn.fault.landedSectors ?? Math.floor(this.random() * sectorCount);
    const landedSectors = Math.min(Math.max(0, Math.floor(requested)), sectorCount - 1);
    if (landedSectors > 0) await this.land(offsetBytes, payload.subarray(0, landedSectors * this.sectorSize));
    if ((torn.fault.outcome ?? 'error') === 'error') {
      throw injectedError(
        'EIO',
        `injected torn write: ${landedSectors} of ${sectorCount} sectors landed`,
        this.path,
        offsetBytes,
        payload.byteLength,
      );
    }
    return true;
  }

  private applyStale(matched: ActiveRule[], offsetBytes: number, data: Uint8Array): void {
    const history = this.sectorHistory;
    if (history === undefined) return;
    const stale = this.faultsOf(matched, 'stale').find(({ active }) => this.tryFire(active));
    if (stale === undefined) return;
    const versionsBack = stale.fault.versionsBack ?? 1;
    for (let sectorStart = 0; sectorStart < data.byteLength; sectorStart += this.sectorSize) {
      const old = history.staleVersion(offsetBytes + sectorStart, versionsBack);
      if (old !== undefined) data.set(old, sectorStart);
    }
  }

  /** Writes to the inner disk and records the new sector versions. */
  private async land(offsetBytes: number, data: Uint8Array): Promise<void> {
    await this.captureFirstVersions(offsetBytes, data.byteLength);
    await this.inner.write(offsetBytes, data);
    this.counts.bytesWritten += data.byteLength;
    const history = this.sectorHistory;
    if (history === undefined) return;
    for (let sectorStart = 0; sectorStart < data.byteLength; sectorStart += this.sectorSize) {
      history.record(offsetBytes + sectorStart, data.subarray(sectorStart, sectorStart + this.sectorSize));
    }
  }

  /**
   * Before the first write to a sector, remembers what it held, so a stale read can return the
   * contents from before any write went through. Best effort: a failed read just leaves no version.
   */
  private async captureFirstVersions(offsetBytes: number, lengthBytes: number): Promise<void> {
    const history = this.sectorHistory;
    if (history === undefined) return;
    let anyMissing = false;
    for (let sectorStart = 0; sectorStart < lengthBytes; sectorStart += this.sectorSize) {
      if (!history.has(offsetBytes + sectorStart)) anyMissing = true;
    }
    if (!anyMissing) return;
    let before: Uint8Array;
    try {
      before = await this.inner.read(offsetBytes, lengthBytes);
    } catch {
      return;
    }
    for (let sectorStart = 0; sectorStart < lengthBytes; sectorStart += this.sectorSize) {
      if (!history.has(offsetBytes + sectorStart)) {
        history.record(offsetBytes + sectorStart, before.subarray(sectorStart, sectorStart + this.sectorSize));
      }
    }
  }
}

function injectedError(
  code: 'EIO' | 'ETIMEDOUT',
  message: string,
  path: string,
  offsetBytes: number,
  lengthBytes: number,
): DiskError {
  return new DiskError(
    code,
    `${message} at offset ${offsetBytes} length ${lengthBytes}`,
    path,
    offsetBytes,
    lengthBytes,
  );
}

function realSleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * MILLISECONDS_PER_SECOND));
}
