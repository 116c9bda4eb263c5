/** @leasehold/daemon: the per-host lock daemon. Its client and companion protocols are in @leasehold/protocol. */
export { runDaemon, type RunningDaemon } from './daemon.js';
export {
  DEFAULT_CONFIG_PATH,
  DEFAULT_SOCKET_PATH,
  DEFAULT_STATE_DIR,
  resolveDaemonConfig,
  type DaemonConfig,
  type DaemonFlags,
} from './config/daemon-config.js';
export { DEFAULT_HOST_ID_CONF_PATH, parseHostIdConf, HostIdMap } from './config/host-id-conf.js';
export { createWatchdogLink, NoWatchdogLink, type WatchdogLink } from './watchdog/watchdog-link.js';
