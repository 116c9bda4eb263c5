/**
 * @leasehold/activation: LV activation backends (dm, loop, none), the LV-to-PV mapping from VG
 * metadata, and the search for processes that have a device open. Used by the daemon.
 */
export type { ActivationBackend, BackendOptions } from './backend.js';
export { noneBackend } from './none-backend.js';
export type { ActivationBackendName, ActiveDevice, LvMapping, LvSegmentMap, ActivationInfo } from '@leasehold/protocol';
