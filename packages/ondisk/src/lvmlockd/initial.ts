/**
 * What lvmlockd writes into a new `lvmlock` at vgcreate (lvmlockd-wdmd.md §1.3): the lockspace
 * `lvm_<vg>` at slot 0, `GLLK` (first shared VG) or `_GLLK_disabled` at slot 65, `VGLK` at slot 66,
 * and `#unused` in every slot from 67 to the end of the LV. Each is exactly what `sanlock direct
 * init` writes for it (areas.ts); slots 1-64 are never written. Yielded one slot at a time: a
 * 256 MiB lvmlock is 190 areas of 1 MiB, and a caller writes each and drops it.
 */
import { buildLockspaceArea, buildResourceArea } from '../areas.js';
import type { Geometry } from '../layout.js';
import {
  FIRST_LV_SLOT,
  GL_DISABLED_RESOURCE_NAME,
  GL_RESOURCE_NAME,
  GL_SLOT,
  LOCKSPACE_SLOT,
  UNUSED_RESOURCE_NAME,
  VG_RESOURCE_NAME,
  VG_SLOT,
  lvmLockspaceName,
  slotCount,
  slotOffsetBytes,
} from './layout.js';

export interface LvmlockInitOptions {
  vgName: string;
  geometry: Geometry;
  /** The size of lvmlock: #unused slots go to its end. */
  lockLvBytes: number;
  /** `GLLK` for the first shared VG, `_GLLK_disabled` for the others. */
  globalLock: 'enabled' | 'disabled';
  /** Stored in every delta lease; lvmlockd uses its own io_timeout (10 by default). */
  ioTimeoutSeconds: number;
}

export interface LvmlockSlotImage {
  slot: number;
  offsetBytes: number;
  /** null for the lockspace (slot 0). */
  resourceName: string | null;
  /** One align of bytes, as sanlock's init writes it. */
  bytes: Uint8Array;
}

/** The initial image of one LV slot (a free one is `#unused`). */
export function lvmlockResourceArea(vgName: string, resourceName: string, geometry: Geometry): Uint8Array {
  return buildResourceArea({ spaceName: lvmLockspaceName(vgName), resourceName, geometry });
}

export function* lvmlockInitialSlots(options: LvmlockInitOptions): Generator<LvmlockSlotImage> {
  const { vgName, geometry } = options;
  const spaceName = lvmLockspaceName(vgName);
  yield {
    slot: LOCKSPACE_SLOT,
    offsetBytes: 0,
    resourceName: null,
    bytes: buildLockspaceArea({ spaceName, geometry, ioTimeoutSeconds: options.ioTimeoutSeconds }),
  };
  const glName = options.globalLock === 'enabled' ? GL_RESOURCE_NAME : GL_DISABLED_RESOURCE_NAME;
  yield {
    slot: GL_SLOT,
    offsetBytes: slotOffsetBytes(GL_SLOT, geometry),
    resourceName: glName,
    bytes: lvmlockResourceArea(vgName, glName, geometry),
  };
  yield {
    slot: VG_SLOT,
    offsetBytes: slotOffsetBytes(VG_SLOT, geometry),
    resourceName: VG_RESOURCE_NAME,
    bytes: lvmlockResourceArea(vgName, VG_RESOURCE_NAME, geometry),
  };
  // Every #unused area is the same bytes: build it once.
  const unused = lvmlockResourceArea(vgName, UNUSED_RESOURCE_NAME, geometry);
  const slots = slotCount(options.lockLvBytes, geometry);
  for (let slot = FIRST_LV_SLOT; slot < slots; slot++) {
    yield { slot, offsetBytes: slotOffsetBytes(slot, geometry), resourceName: UNUSED_RESOURCE_NAME, bytes: unused };
  }
}
