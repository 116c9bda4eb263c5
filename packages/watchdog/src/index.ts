/** @leasehold/watchdog: the watchdog companion, its devices, and the test watchdog device and cluster. */
export * from './errors.js';
export * from './timing.js';
export { createLogger, LOG_LEVELS, type CompanionLogger } from './logger.js';
export type { WatchdogDevice } from './device/watchdog-device.js';
export { CharWatchdogDevice, type CharDeviceSystem } from './device/char-device.js';
export { SocketWatchdogDevice } from './device/socket-device.js';
export { deviceAt, DEFAULT_DEVICE_PATH } from './device/open-device.js';
export { Registrations, type Verdict } from './companion/registrations.js';
export { DeviceKeeper } from './companion/device-keeper.js';
export { clearMarker, readMarker, DEFAULT_MARKER_PATH } from './companion/marker.js';
export { probeDevice, type ProbeResult } from './companion/probe.js';
export {
  runCompanion,
  probeOnly,
  resolveCompanionOptions,
  type CompanionOptions,
  type RunningCompanion,
} from './companion/companion.js';
export { companionStatus } from './companion/status-client.js';
export { EmulatedWatchdog, type DeviceEvent, type EmulatedWatchdogStatus } from './testing/device/emulated-watchdog.js';
export { runTestDevice, type TestDeviceOptions } from './testing/device/test-device-server.js';
export { readHostRecord, runningHost, type HostRecord } from './testing/device/host-file.js';
export { spawnInHost, findRole, hostProcesses, type HostRole } from './testing/host/emulated-host.js';
export {
  hostName,
  hostPaths,
  readClusterConfig,
  requireHost,
  type ClusterConfig,
  type HostPaths,
} from './testing/cluster/cluster-layout.js';
export {
  startCluster,
  stopCluster,
  freezeHost,
  crashHost,
  restartHost,
  clusterStatus,
  DEFAULT_CLUSTER_IO_TIMEOUT_SECONDS,
  DEFAULT_CLUSTER_FIRE_TIMEOUT_SECONDS,
  type StartOptions,
  type HostStatus,
  type Target,
} from './testing/cluster/cluster.js';
