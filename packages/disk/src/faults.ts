/** The kinds of faults FaultyDisk can inject, and where they apply. */

export type IoKind = 'read' | 'write';

/** Added delay, through FaultyDisk's injected sleep (virtual time in the simulator). */
export interface LatencyFault {
  type: 'latency';
  seconds: number;
}

/** The I/O fails with DiskError EIO. */
export interface EioFault {
  type: 'eio';
  /** Chance per matching I/O, drawn from the injected random source (default 1: always). */
  probability?: number;
  /** For writes: the data lands on disk before the error is reported (default false: nothing lands). */
  writeLands?: boolean;
}

/**
 * The I/O does not complete until FaultyDisk.release() (then it proceeds, or fails with EIO), or
 * until `timeoutSeconds` pass on the injected sleep (then the caller gets ETIMEDOUT; a write that is
 * later released with 'complete' still lands, as a queued write does on a real device).
 */
export interface HangFault {
  type: 'hang';
  timeoutSeconds?: number;
}

/** Reads return an older version of each sector that has a history (sectors without one read current). */
export interface StaleReadFault {
  type: 'stale';
  /** How many writes back (default 1: the version before the last write). */
  versionsBack?: number;
}

/** A multi-sector write lands only its first sectors. Single-sector writes are atomic and unaffected. */
export interface TornWriteFault {
  type: 'torn';
  /** Sectors that land (clamped to [0, n-1]); default: drawn uniformly from [0, n-1] with the random source. */
  landedSectors?: number;
  /** What the writer is told: 'error' (EIO, default) or 'success' (a silent tear). */
  outcome?: 'error' | 'success';
}

export type Fault = LatencyFault | EioFault | HangFault | StaleReadFault | TornWriteFault;

export interface ByteRange {
  offsetBytes: number;
  lengthBytes: number;
}

export interface FaultRule {
  fault: Fault;
  /** Which operations it applies to (default 'any'; stale faults only ever affect reads, torn only writes). */
  op?: IoKind | 'any';
  /** Applies only to I/O overlapping this range (default: the whole disk). */
  range?: ByteRange;
  /** Fires at most this many times, then removes itself (default: until removed). */
  times?: number;
}

export type FaultId = number;

export function ruleMatches(rule: FaultRule, kind: IoKind, offsetBytes: number, lengthBytes: number): boolean {
  const op = rule.op ?? 'any';
  if (op !== 'any' && op !== kind) return false;
  if (rule.fault.type === 'stale' && kind !== 'read') return false;
  if (rule.fault.type === 'torn' && kind !== 'write') return false;
  if (rule.range === undefined) return true;
  const ruleEnd = rule.range.offsetBytes + rule.range.lengthBytes;
  return offsetBytes < ruleEnd && rule.range.offsetBytes < offsetBytes + lengthBytes;
}

/** Throws RangeError for a rule that cannot be applied. */
export function validateFaultRule(rule: FaultRule, hasHistory: boolean): void {
  const fault = rule.fault;
  const problem = (() => {
    if (rule.times !== undefined && (!Number.isSafeInteger(rule.times) || rule.times < 1))
      return `times ${rule.times} must be a positive integer`;
    if (rule.range !== undefined && (rule.range.offsetBytes < 0 || rule.range.lengthBytes <= 0))
      return 'range must have offsetBytes >= 0 and lengthBytes > 0';
    switch (fault.type) {
      case 'latency':
        return fault.seconds >= 0 && Number.isFinite(fault.seconds)
          ? undefined
          : `latency ${fault.seconds}s must be finite and >= 0`;
      case 'eio':
        return fault.probability === undefined || (fault.probability >= 0 && fault.probability <= 1)
          ? undefined
          : `probability ${fault.probability} must be in [0, 1]`;
      case 'hang':
        return fault.timeoutSeconds === undefined || fault.timeoutSeconds >= 0
          ? undefined
          : `hang timeout ${fault.timeoutSeconds}s must be >= 0`;
      case 'stale':
        if (!hasHistory) return 'stale reads need a sector history (history: false was given)';
        return fault.versionsBack === undefined || (Number.isSafeInteger(fault.versionsBack) && fault.versionsBack >= 1)
          ? undefined
          : `versionsBack ${fault.versionsBack} must be an integer >= 1`;
      case 'torn':
        return fault.landedSectors === undefined ||
          (Number.isSafeInteger(fault.landedSectors) && fault.landedSectors >= 0)
          ? undefined
          : `landedSectors ${fault.landedSectors} must be an integer >= 0`;
    }
  })();
  if (problem !== undefined) throw new RangeError(`invalid fault rule: ${problem}`);
}
