/** What the chaos checker reports. */
export const VIOLATION_KINDS = [
  /** Two hosts used one LV exclusively at the same time. */
  'ex-overlap',
  /** A host used an LV exclusively while another had it shared. */
  'ex-sh-overlap',
  /** An acknowledged write is not on the device and no later write to its slot explains it. */
  'lost-write',
  /** A host took an LV from a host that had stopped renewing before that host's deadline. */
  'early-takeover',
  /** A host took an LV another host held, with nothing that could have ended that host's lease. */
  'takeover-of-live-lease',
  /** A record on the device that no writer ever issued. */
  'phantom-record',
  /** A record found in another slot or LV than the one it was written to. */
  'misplaced-record',
  /** A slot that was written holds bytes that are not a whole record. */
  'corrupt-record',
  /** A writer read back something else than what it had just written, or a reader read garbage. */
  'readback',
  /** The VG metadata fails leasehold's vgck or the real one (found by the harness, not the checker). */
  'vg-check',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  kind: ViolationKind;
  lv: string;
  message: string;
}

/** A check stops collecting after this many violations (one is already a failed run). */
export const MAX_REPORTED_VIOLATIONS = 1000;
