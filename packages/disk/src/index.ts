/**
 * @leasehold/disk: the `Disk` interface and the implementations that need no native code (memory,
 * fault-injecting, counting). O_DIRECT files and block devices are at '@leasehold/disk/direct', so the
 * lease layer and the simulator load where the native addon is not built.
 */
export { checkIo, type Disk, DiskError, type DiskErrorCode } from './disk.js';
export {
  DEFAULT_FILE_SECTOR_SIZE,
  IO_BUFFER_ALIGNMENT_BYTES,
  isSupportedSectorSize,
  SUPPORTED_SECTOR_SIZES,
} from './constants.js';
export { asyncFromSync, type SyncDisk } from './sync-disk.js';
export { MemoryDisk, type MemoryDiskOptions } from './memory-disk.js';
export { CountingDisk, emptyIoStats, type IoStats } from './io-stats.js';
export { DEFAULT_HISTORY_DEPTH, SectorHistory } from './sector-history.js';
export type {
  ByteRange,
  EioFault,
  Fault,
  FaultId,
  FaultRule,
  HangFault,
  IoKind,
  LatencyFault,
  StaleReadFault,
  TornWriteFault,
} from './faults.js';
export { FaultyDisk, type FaultyDiskOptions, type HungIo, type ReleaseOutcome } from './faulty-disk.js';
export {
  LinearDisk,
  LinearSyncDisk,
  MAX_LINEAR_SEGMENTS,
  type LinearPiece,
  type LinearSegment,
} from './linear-disk.js';
export {
  describeSignatures,
  type FoundSignature,
  MAX_LEASE_SCAN_BYTES,
  MAX_SIGNATURES,
  probeSignatures,
  SignatureProbeError,
  type SignatureProbeOptions,
} from './signatures.js';
