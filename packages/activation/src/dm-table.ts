/** Device-mapper names and linear tables for an LV, as lvm builds them. */
import type { LvMapping } from '@leasehold/protocol';
import { ActivationError } from './errors.js';

/** DM_NAME_LEN (128) less the terminating NUL. */
export const MAX_DM_NAME_BYTES = 127;
/** lvm's prefix of the dm UUIDs of its LVs: LVM-<vg uuid><lv uuid>, without dashes. */
export const DM_UUID_PREFIX = 'LVM-';

/** lvm's dm name: each part with its '-' doubled, joined by '-' (vg "a-b", lv "c" -> "a--b-c"). */
export function dmName(vgName: string, lvName: string): string {
  const name = `${vgName.replaceAll('-', '--')}-${lvName.replaceAll('-', '--')}`;
  if (Buffer.byteLength(name) > MAX_DM_NAME_BYTES)
    throw new ActivationError(
      'BAD_NAME',
      `the device-mapper name of ${vgName}/${lvName} would be longer than ${MAX_DM_NAME_BYTES} bytes`,
    );
  return name;
}

/** lvm's dm UUID of the LV, or null when the mapping does not carry the VG's UUID. */
export function dmUuid(mapping: Pick<LvMapping, 'vgUuid' | 'lvUuid'>): string | null {
  if (mapping.vgUuid === undefined) return null;
  return `${DM_UUID_PREFIX}${mapping.vgUuid.replaceAll('-', '')}${mapping.lvUuid.replaceAll('-', '')}`;
}

/**
 * The table: one `start length linear device offset` line per run, in sectors. `deviceOf` names
 * each PV as the table should (lvm and `dmsetup table` use major:minor); by default its path.
 */
export function dmLinearTable(mapping: LvMapping, deviceOf: (pvPath: string) => string = (p) => p): string {
  return mapping.segments
    .map((s) => `${s.lvStartSectors} ${s.lengthSectors} linear ${deviceOf(s.pvPath)} ${s.pvOffsetSectors}\n`)
    .join('');
}
