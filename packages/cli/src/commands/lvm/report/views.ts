/**
 * What the reports show, computed once per command from what the volume layer read: one PvView per
 * PV (found or missing), one VgView per VG, one LvView per LV. Field functions only read these, so a
 * report of 1000 LVs is a single pass with no lookups by name.
 */
import type { LogicalVolume, PhysicalVolume, Segment, VolumeGroup } from '@leasehold/lvm-format';
import type { VgRead } from '@leasehold/volume';
import type { LvLockState } from './lock-state.js';

export interface MdaView {
  sizeBytes: number;
  /** Bytes a new copy of the text may still take (lvm's mda_free): 0 when unusable. */
  freeBytes: number;
  /** Not ignored and readable. */
  used: boolean;
}

export interface PvView {
  /** The device path, or "[unknown]" for a PV the VG lists but no scanned device carries. */
  deviceName: string;
  /** Raw 32-character PV UUID. */
  uuid: string;
  /** Size of the device in bytes (0 when missing). */
  devSizeBytes: number;
  major: number | undefined;
  minor: number | undefined;
  mdas: MdaView[];
  /** pv_header extension version (0 when unknown). */
  extVersion: number;
  peStartBytes: number;
  /** The label's "used" flag. */
  labelInUse: boolean;
  /** The VG this PV belongs to; undefined for an orphan. */
  vg: VgView | undefined;
  /** The VG text's entry for this PV (members only). */
  pv: PhysicalVolume | undefined;
  /** Allocated extents (members only). */
  peAllocCount: number;
  missing: boolean;
}

export interface VgView {
  vg: VolumeGroup;
  /** What the scan read (the shared-VG lock fields find lvmlock through it). */
  read: VgRead;
  /** In the order of the VG text. */
  pvs: PvView[];
  /** PV key (pv0, pv1 ...) to its view. */
  pvByKey: Map<string, PvView>;
  lvs: LvView[];
  missingPvCount: number;
  /** Free extents of the whole VG. */
  freeExtents: number;
  totalExtents: number;
  /** The size of the current metadata text (bytes, with its NUL). */
  textSizeBytes: number;
}

export interface LvView {
  vgView: VgView;
  lv: LogicalVolume;
  extentCount: number;
  visible: boolean;
  /** Lease and activation state (lock_holders, lock_mode, active): set only when a field needs it. */
  lock?: LvLockState;
}

export interface SegView {
  lvView: LvView;
  seg: Segment;
}

/** One report row: what its fields may read. pvs rows have pv (and vg when a member), vgs rows vg, lvs rows lv (and seg). */
export interface ReportRow {
  pv?: PvView;
  vg?: VgView;
  lv?: LvView;
  seg?: SegView;
}

export const UNKNOWN_DEVICE_NAME = '[unknown]';
