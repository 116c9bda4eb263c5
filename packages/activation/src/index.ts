/**
 * @leasehold/activation: LV activation backends (dm, loop, none), the LV-to-PV mapping from VG
 * metadata, and the search for processes that have a device open. Used by the daemon.
 */
export type { ActivationBackend, BackendOptions } from './backend.js';
export { noneBackend } from './none-backend.js';
export { createLoopBackend, singleRun, DEFAULT_LOSETUP_PATH, type LoopBackendOptions } from './loop-backend.js';
export { createDmBackend, DEFAULT_DMSETUP_PATH, DM_DEVICE_DIR, type DmBackendOptions } from './dm-backend.js';
export { dmName, dmUuid, dmLinearTable, MAX_DM_NAME_BYTES, DM_UUID_PREFIX } from './dm-table.js';
export {
  createBackend,
  defaultBackendName,
  DM_CONTROL_PATH,
  PROC_MISC_PATH,
  type CreateBackendOptions,
} from './create.js';
export { lvMapping, MAX_MAPPING_SEGMENTS, type PvPathOf } from './mapping.js';
export {
  findOpeners,
  parseProcStat,
  splitDeviceNumber,
  MAX_OPENERS,
  DEFAULT_PROC_ROOT,
  type DeviceNumber,
  type Opener,
  type FindOpenersOptions,
} from './openers.js';
export { loopStatus, loopNameOf, type LoopStatus } from './loop-sysfs.js';
export { linkPathOf } from './links.js';
export { ActivationError, type ActivationErrorCode } from './errors.js';
export type { ActivationBackendName, ActiveDevice, LvMapping, LvSegmentMap, ActivationInfo } from '@leasehold/protocol';
