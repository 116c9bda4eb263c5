/**
 * lvmlockd's lock layout inside a shared VG's hidden `lvmlock` LV (lvm2 2.03 + sanlock 3.8), as the
 * real lvmlockd writes it (../shared/spec/lvmlockd-real.md, lvmlockd-wdmd.md §1). Pure numbers and
 * names: no I/O.
 *
 *   slot 0        the lockspace `lvm_<vg>` (delta leases, one sector per host_id)
 *   slots 1..64   never written
 *   slot 65       `GLLK` (the enabled global lock) or `_GLLK_disabled`
 *   slot 66       `VGLK`
 *   slots 67..    one lease per lockable LV, named by the LV UUID; `#unused` when free
 *
 * Slot k starts at k x align. 512-byte sectors: align 1 MiB, lvmlock 256 MiB (189 LV slots).
 * 4K sectors: align 8 MiB (lvmlockd's default), lvmlock 1 GiB (61 LV slots).
 */
import { MIB, NAME_LENGTH_BYTES, type AlignSizeBytes, type SectorSize } from '../constants.js';
import { OnDiskError } from '../errors.js';
import { checkSectorSize, formatAlignSize, geometryFor, type Geometry } from '../layout.js';

/** The lockspace of VG `<vg>` is `lvm_<vg>`. */
export const LVM_LOCKSPACE_PREFIX = 'lvm_';
/** The longest VG name whose whole name fits sanlock's 48-byte lockspace name after the prefix. */
export const MAX_VG_NAME_IN_LOCKSPACE = NAME_LENGTH_BYTES - LVM_LOCKSPACE_PREFIX.length;
/** The hidden LV that holds the leases, and the name the VG's lock_args names. */
export const LOCK_LV_NAME = 'lvmlock';

export const GL_RESOURCE_NAME = 'GLLK';
export const GL_DISABLED_RESOURCE_NAME = '_GLLK_disabled';
export const VG_RESOURCE_NAME = 'VGLK';
/** A free LV slot: lvmlockd writes a resource of this name into every slot it does not use. */
export const UNUSED_RESOURCE_NAME = '#unused';

export const LOCKSPACE_SLOT = 0;
export const GL_SLOT = 65;
export const VG_SLOT = 66;
export const FIRST_LV_SLOT = 67;

/** lvmlock's size at vgcreate, per align size (lvmlockd-wdmd.md §1.1; 2.03.16 uses 1M for 512, 8M for 4K). */
const LOCK_LV_BYTES_BY_ALIGN: ReadonlyMap<AlignSizeBytes, number> = new Map<AlignSizeBytes, number>([
  [1 * MIB, 256 * MIB],
  [2 * MIB, 512 * MIB],
  [4 * MIB, 1024 * MIB],
  [8 * MIB, 1024 * MIB],
]);
/** lvmlockd's align for each sector size (4K: global/sanlock_align_size, default 8 MiB). */
const DEFAULT_ALIGN_BY_SECTOR: Record<SectorSize, AlignSizeBytes> = { 512: 1 * MIB, 4096: 8 * MIB };
/** How much lvm grows lvmlock when no LV slot is free (global/sanlock_lv_extend, default 256 MiB). */
export const LOCK_LV_EXTEND_BYTES = 256 * MIB;

/** The sanlock geometry lvmlockd uses for a VG whose PVs have this sector size (align as given or lvmlockd's default). */
export function lvmlockGeometry(sectorSize: number, alignBytes?: number): Geometry {
  const ss = checkSectorSize(sectorSize);
  return geometryFor(ss, alignBytes ?? DEFAULT_ALIGN_BY_SECTOR[ss]);
}

/** lvmlock's size at vgcreate for this geometry: 256 MiB for 512/1M, 1 GiB for 4K/8M. */
export function lockLvInitialBytes(geometry: Geometry): number {
  const bytes = LOCK_LV_BYTES_BY_ALIGN.get(geometry.alignBytes);
  if (bytes === undefined)
    throw new OnDiskError('LAYOUT_INVALID', `no lvmlock size for align ${formatAlignSize(geometry.alignBytes)}`);
  return bytes;
}

export function slotOffsetBytes(slot: number, geometry: Geometry): number {
  if (!Number.isSafeInteger(slot) || slot < 0) {
    throw new OnDiskError('LAYOUT_INVALID', `bad lvmlock slot ${String(slot)}: expected a non-negative integer`, {
      found: String(slot),
      expected: 'a non-negative integer',
    });
  }
  return slot * geometry.alignBytes;
}

/** How many slots an lvmlock of this size holds (a partial slot at the end does not count). */
export function slotCount(lockLvBytes: number, geometry: Geometry): number {
  return Math.floor(lockLvBytes / geometry.alignBytes);
}

/** LV lease slots in an lvmlock of this size: slots 67 .. slotCount-1. */
export function lvSlotCount(lockLvBytes: number, geometry: Geometry): number {
  return Math.max(0, slotCount(lockLvBytes, geometry) - FIRST_LV_SLOT);
}

/**
 * The LV slot at `offsetBytes` (from an LV's lock_args). Throws LAYOUT_INVALID unless the offset is a
 * multiple of the align at slot 67 or later and, when `lockLvBytes` is given, inside lvmlock.
 */
export function lvSlotOfOffset(offsetBytes: number, geometry: Geometry, lockLvBytes?: number): number {
  const align = geometry.alignBytes;
  const end = lockLvBytes === undefined ? Number.MAX_SAFE_INTEGER : slotCount(lockLvBytes, geometry) * align;
  if (
    !Number.isSafeInteger(offsetBytes) ||
    offsetBytes % align !== 0 ||
    offsetBytes < FIRST_LV_SLOT * align ||
    offsetBytes >= end
  ) {
    const expected =
      `a multiple of ${formatAlignSize(align)} from ${FIRST_LV_SLOT * align}` +
      (lockLvBytes === undefined ? '' : ` below ${end}`);
    throw new OnDiskError(
      'LAYOUT_INVALID',
      `LV lease offset ${String(offsetBytes)} is not an LV slot of lvmlock: expected ${expected}`,
      {
        found: String(offsetBytes),
        expected,
      },
    );
  }
  return offsetBytes / align;
}

/**
 * The lockspace name for VG `vgName`, as leasehold creates it: `lvm_<vg>`, refused with NAME_TOO_LONG
 * when it would not fit sanlock's 48 bytes (lvmlockd would silently cut it, and two VGs could share it).
 */
export function lvmLockspaceName(vgName: string): string {
  const name = LVM_LOCKSPACE_PREFIX + vgName;
  // VG names are ASCII ([A-Za-z0-9+_.-]), so characters are bytes.
  if (name.length > NAME_LENGTH_BYTES) {
    throw new OnDiskError(
      'NAME_TOO_LONG',
      `VG name ${JSON.stringify(vgName)} is too long for a lockspace: "${LVM_LOCKSPACE_PREFIX}<vg>" must fit ${NAME_LENGTH_BYTES} bytes, so at most ${MAX_VG_NAME_IN_LOCKSPACE} characters`,
      { found: `${vgName.length} characters`, expected: `at most ${MAX_VG_NAME_IN_LOCKSPACE}` },
    );
  }
  return name;
}

/** The lockspace name sanlock actually sees for VG `vgName`: `lvm_<vg>` cut to 48 bytes (what lvmlockd passes on). */
export function sanlockLockspaceNameOfVg(vgName: string): string {
  return (LVM_LOCKSPACE_PREFIX + vgName).slice(0, NAME_LENGTH_BYTES);
}

/** True when two different VG names map to one sanlock lockspace name (their first 44 characters agree). */
export function lockspaceNamesCollide(vgA: string, vgB: string): boolean {
  return vgA !== vgB && sanlockLockspaceNameOfVg(vgA) === sanlockLockspaceNameOfVg(vgB);
}

/** `/dev/mapper/<vg>-lvmlock` with device-mapper's mangling: every `-` in the VG name is doubled. */
export function lockLvDevicePath(vgName: string): string {
  return `/dev/mapper/${vgName.replaceAll('-', '--')}-${LOCK_LV_NAME}`;
}

export type SlotKind = 'gl-enabled' | 'gl-disabled' | 'vg' | 'unused' | 'lv';

/** What a resource name in lvmlock means. LV leases are named by the LV UUID. */
export function slotKindOfName(resourceName: string): SlotKind {
  switch (resourceName) {
    case GL_RESOURCE_NAME:
      return 'gl-enabled';
    case GL_DISABLED_RESOURCE_NAME:
      return 'gl-disabled';
    case VG_RESOURCE_NAME:
      return 'vg';
    case UNUSED_RESOURCE_NAME:
      return 'unused';
    default:
      return 'lv';
  }
}
