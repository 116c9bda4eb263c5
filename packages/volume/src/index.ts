export { VolumeError, type VolumeErrorCode } from './errors.js';
export { readBytes, writeBytes } from './io.js';
export {
  DEFAULT_DEVICE_PATTERNS,
  DEFAULT_VOLUME_CONFIG_PATH,
  devicesToScan,
  expandDevicePatterns,
  loadVolumeConfig,
  MAX_SCANNED_DEVICES,
  NO_METADATA_CACHE,
  type VolumeConfig,
} from './config.js';
export {
  type DeviceOpener,
  type DeviceScan,
  directDeviceOpener,
  type MdaState,
  type PvDevice,
  scanDevices,
  SCAN_PREFIX_BYTES,
  scanDisk,
  type ScanOptions,
  type TextParser,
} from './scan.js';
export {
  DEFAULT_METADATA_CACHE_DIR,
  decodeEntry,
  directoryTextCache,
  encodeEntry,
  MAX_METADATA_CACHE_ENTRIES,
  MIN_CACHED_TEXT_BYTES,
  type ParsedTextCache,
} from './text-cache.js';
export { type CopySource, findVg, readAllVgs, type ReadOptions, type VgRead, type VgScanResult } from './read.js';
export { commitVg, type CommitOptions, type CommitResult, footerFor, orphanPv, type WriterIdentity } from './commit.js';
export { pvcreate, type PvcreateOptions, type PvcreateResult, pvremove } from './pv-ops.js';
export {
  allocateExtents,
  type AllocationRequest,
  freeRanges,
  pvLabelOf,
  reduceExtents,
  vgFreeExtents,
} from './alloc.js';
export {
  DEFAULT_LOCK_WAIT_SECONDS,
  DEFAULT_LOCKING_DIR,
  type FileLock,
  GLOBAL_LOCK_NAME,
  type LockOptions,
  takeFileLock,
  vgLockName,
} from './lock.js';
export {
  addPv,
  newLogicalVolume,
  type NewLvOptions,
  newVolumeGroup,
  type NewVgOptions,
  nextPvKey,
  pvEntryFor,
  removePv,
} from './vg-build.js';
export {
  backupText,
  checkWritable,
  commitChanges,
  pvKeysForDevices,
  readVg,
  readVolumes,
  removeVg,
  restoreVg,
  type VolumeOptions,
  type VolumeState,
} from './api.js';
export { commandIdentity } from './identity.js';
