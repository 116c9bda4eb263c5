/**
 * @leasehold/disk/direct: O_DIRECT files and block devices, aligned buffers and device geometry.
 * Loads the native addon (@leasehold/native); everything else in the disk layer is at '@leasehold/disk'.
 */
export { assertDirectIoAligned, directIoBuffer } from './aligned-buffer.js';
export {
  chooseSectorSize,
  type DeviceGeometry,
  type DeviceKind,
  geometryOfFd,
  probeDevice,
  type ProbeOptions,
  splitDeviceNumber,
  sysfsBlockGeometry,
} from './geometry.js';
export { DirectDisk, type DirectDiskOptions, openDirectDisk, openDirectDiskSync } from './direct-disk.js';
