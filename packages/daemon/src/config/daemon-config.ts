/**
 * The daemon's settings: built-in defaults, then the config file, then command-line flags.
 *
 * leasehold.conf keys (all optional):
 *   io_timeout = 10                 seconds; published in our delta leases (others judge us by it)
 *   watchdog_fire_timeout = 60      seconds; must be the same on every host of the cluster
 *   kill_grace_seconds = 40         SIGTERM / kill command to SIGKILL on lease loss (default from W, as sanlock)
 *   socket_group = leasehold        group allowed to use the socket (besides root and the daemon's user)
 *   host_name = ...                 fixed delta-lease host name (default: generated once, kept in state)
 *   host_id_file = /etc/leasehold/host-id.conf
 *   kill_command = /usr/local/sbin/stop-users          run instead of SIGTERM on lease loss (args: LOCKSPACE PID)
 *   kill_command.vg0 = /usr/local/sbin/stop-vg0-users  the same for one lockspace
 *   lanes = shared                  shared (default) | per-device: worker threads for lease I/O (docs/daemon.md)
 *   log_level = info
 *   watchdog_socket = /run/leasehold/watchdog.sock   the watchdog companion's socket
 *   activation_backend = dm         dm | loop | none: how LVs are activated (default dm where
 *                                   /dev/mapper/control exists, else loop)
 *   device_dir = /dev               where the <vg>/<lv> links of active LVs go
 *   refresh_command = /usr/sbin/leasehold lvchange --refresh   run as `<command> <vg>/<lv>` when a
 *                                   shared extend asks this host to refresh (default: this leasehold's)
 *
 * The same file carries the lvm-named commands' settings (VOLUME_COMMAND_SETTINGS): the daemon
 * accepts them and leaves them to the commands.
 */
import { readFileSync } from 'node:fs';
import { NAME_LENGTH_BYTES } from '@leasehold/ondisk';
import {
  DEFAULT_IO_TIMEOUT_SECONDS,
  DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  MAX_IO_TIMEOUT_SECONDS,
} from '@leasehold/lease';
import { ACTIVATION_BACKENDS, DaemonError, type ActivationBackendName } from '@leasehold/protocol';
import { DEFAULT_HOST_ID_CONF_PATH } from './host-id-conf.js';

/** Keys of leasehold.conf read by the volume commands (docs/volumes.md), not by the daemon. */
export const VOLUME_COMMAND_SETTINGS: ReadonlySet<string> = new Set(['devices', 'locking_dir', 'metadata_cache_dir']);
import { parseKvText } from './kv-file.js';
import { DEFAULT_SOCKET_PATH_FOR_CLIENTS } from '@leasehold/protocol';
import { DEFAULT_COMPANION_SOCKET_PATH } from '@leasehold/protocol/companion';

export const DEFAULT_CONFIG_PATH = '/etc/leasehold/leasehold.conf';
export const DEFAULT_SOCKET_PATH = DEFAULT_SOCKET_PATH_FOR_CLIENTS;
export const DEFAULT_STATE_DIR = '/var/lib/leasehold';
/** Socket file mode: owner (root) and group read/write, nobody else. */
export const DEFAULT_SOCKET_MODE = 0o660;
/** Without an explicit `--watchdog none`, the daemon insists on fencing through the companion. */
export const DEFAULT_WATCHDOG = 'companion';
/** Where the <vg>/<lv> links of active LVs go, as lvm makes them. */
export const DEFAULT_DEVICE_DIR = '/dev';
const MAX_WATCHDOG_FIRE_TIMEOUT_SECONDS = 600;
const MAX_KILL_GRACE_SECONDS = 600;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** sanlock's kill grace: 40 s when W >= 60, 15 s when 30 <= W < 60, 0 below. */
export function defaultKillGraceSeconds(watchdogFireTimeoutSeconds: number): number {
  if (watchdogFireTimeoutSeconds >= 60) return 40;
  if (watchdogFireTimeoutSeconds >= 30) return 15;
  return 0;
}

export interface KillCommands {
  /** argv of the command for lockspaces without their own; undefined = SIGTERM. */
  fallback: string[] | undefined;
  byLockspace: ReadonlyMap<string, string[]>;
}

export interface DaemonConfig {
  configPath: string;
  socketPath: string;
  stateDir: string;
  hostIdFile: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  killGraceSeconds: number;
  /** Group name or numeric gid; undefined = only root and the daemon's own user. */
  socketGroup: string | undefined;
  socketMode: number;
  /** Fixed host name; undefined = the one kept in state (generated on first start). */
  hostName: string | undefined;
  killCommands: KillCommands;
  watchdog: string;
  /** The watchdog companion's socket (used with watchdog = companion). */
  watchdogSocketPath: string;
  logLevel: LogLevel;
  /** Test only: a directory of fault switches (see lanes/test-faults.ts). */
  testFaultDir: string | undefined;
  /** 'shared': lockspaces share lanes, quarantined on a stall; 'per-device': one renewal lane per device, one resource lane per lockspace. */
  lanes: LaneMode;
  /** How LVs are activated; undefined = dm where /dev/mapper/control exists, else loop. */
  activationBackend: ActivationBackendName | undefined;
  /** Where the <vg>/<lv> links of active LVs go. */
  deviceDir: string;
  /** argv run with `<vg>/<lv>` appended when a shared extend asks for a refresh; undefined = our own lvchange --refresh. */
  refreshCommand: string[] | undefined;
}

/** Command-line flags; undefined = not given. */
export interface DaemonFlags {
  config?: string;
  socket?: string;
  stateDir?: string;
  hostIdFile?: string;
  ioTimeout?: number;
  watchdogFireTimeout?: number;
  killGrace?: number;
  socketGroup?: string;
  hostName?: string;
  watchdog?: string;
  watchdogSocket?: string;
  logLevel?: string;
  /** pretty | json (default: pretty on a terminal, JSON otherwise). */
  logFormat?: string;
  testFaultDir?: string;
  lanes?: string;
  testSocketMode?: number;
  activationBackend?: string;
  deviceDir?: string;
}

interface FileSettings {
  ioTimeoutSeconds?: number;
  watchdogFireTimeoutSeconds?: number;
  killGraceSeconds?: number;
  socketGroup?: string;
  hostName?: string;
  hostIdFile?: string;
  logLevel?: LogLevel;
  watchdogSocket?: string;
  lanes?: LaneMode;
  killCommandFallback?: string[];
  killCommandByLockspace: Map<string, string[]>;
  activationBackend?: ActivationBackendName;
  deviceDir?: string;
  refreshCommand?: string[];
}

function badConfig(message: string): DaemonError {
  return new DaemonError('BAD_CONFIG', message);
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw badConfig(`${what} must be an integer ${min}-${max}, got "${text}"`);
  return Number(text);
}

export function validateHostName(name: string, what: string): string {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') > NAME_LENGTH_BYTES || name.includes('\0')) {
    throw badConfig(`${what} must be 1-${NAME_LENGTH_BYTES} bytes, got "${name}"`);
  }
  return name;
}

function parseLogLevel(text: string, what: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text))
    throw badConfig(`${what} must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return text as LogLevel;
}

function parseCommand(text: string, what: string): string[] {
  const argv = text.split(/\s+/).filter((part) => part !== '');
  if (argv.length === 0 || !argv[0]!.startsWith('/'))
    throw badConfig(`${what} must start with an absolute path, got "${text}"`);
  return argv;
}

export function parseConfigText(text: string, sourceName: string): FileSettings {
  const settings: FileSettings = { killCommandByLockspace: new Map() };
  for (const { key, value, line } of parseKvText(text, sourceName)) {
    const where = `${sourceName}:${line}: ${key}`;
    if (key.startsWith('kill_command.')) {
      settings.killCommandByLockspace.set(key.slice('kill_command.'.length), parseCommand(value, where));
      continue;
    }
    switch (key) {
      case 'io_timeout':
        settings.ioTimeoutSeconds = parseInteger(value, where, 1, MAX_IO_TIMEOUT_SECONDS);
        break;
      case 'watchdog_fire_timeout':
        settings.watchdogFireTimeoutSeconds = parseInteger(value, where, 1, MAX_WATCHDOG_FIRE_TIMEOUT_SECONDS);
        break;
      case 'kill_grace_seconds':
      case 'kill_grace':
        settings.killGraceSeconds = parseInteger(value, where, 0, MAX_KILL_GRACE_SECONDS);
        break;
      case 'socket_group':
        if (value === '') throw badConfig(`${where} is empty`);
        settings.socketGroup = value;
        break;
      case 'host_name':
      case 'our_host_name':
        settings.hostName = validateHostName(value, where);
        break;
      case 'host_id_file':
        settings.hostIdFile = value;
        break;
      case 'log_level':
        settings.logLevel = parseLogLevel(value, where);
        break;
      case 'lanes':
        settings.lanes = parseLaneMode(value, where);
        break;
      case 'watchdog_socket':
        if (!value.startsWith('/')) throw badConfig(`${where} must be an absolute path, got "${value}"`);
        settings.watchdogSocket = value;
        break;
      case 'kill_command':
        settings.killCommandFallback = parseCommand(value, where);
        break;
      case 'activation_backend':
        settings.activationBackend = parseBackend(value, where);
        break;
      case 'device_dir':
        settings.deviceDir = absoluteDir(value, where);
        break;
      case 'refresh_command':
        settings.refreshCommand = parseCommand(value, where);
        break;
      default:
        if (VOLUME_COMMAND_SETTINGS.has(key)) break;
        throw badConfig(`${where}: unknown setting`);
    }
  }
  return settings;
}

function parseBackend(text: string, what: string): ActivationBackendName {
  const found = ACTIVATION_BACKENDS.find((name) => name === text);
  if (found === undefined) throw badConfig(`${what} must be one of ${ACTIVATION_BACKENDS.join(', ')}, got "${text}"`);
  return found;
}

function absoluteDir(text: string, what: string): string {
  if (!text.startsWith('/')) throw badConfig(`${what} must be an absolute path, got "${text}"`);
  return text.length > 1 ? text.replace(/\/+$/, '') : text;
}

function readConfigFile(path: string, explicit: boolean): FileSettings {
  try {
    return parseConfigText(readFileSync(path, 'utf8'), path);
  } catch (error) {
    // The default file is optional; a file the admin named must exist.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { killCommandByLockspace: new Map() };
    if (error instanceof DaemonError) throw error;
    throw badConfig(`cannot read config file ${path}: ${(error as Error).message}`);
  }
}

function flagInteger(value: number | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max)
    throw badConfig(`${what} must be an integer ${min}-${max}, got ${value}`);
  return value;
}

export function resolveDaemonConfig(flags: DaemonFlags): DaemonConfig {
  const configPath = flags.config ?? DEFAULT_CONFIG_PATH;
  const file = readConfigFile(configPath, flags.config !== undefined);
  const ioTimeoutSeconds =
    flagInteger(flags.ioTimeout, '--io-timeout', 1, MAX_IO_TIMEOUT_SECONDS) ??
    file.ioTimeoutSeconds ??
    DEFAULT_IO_TIMEOUT_SECONDS;
  const watchdogFireTimeoutSeconds =
    flagInteger(flags.watchdogFireTimeout, '--watchdog-fire-timeout', 1, MAX_WATCHDOG_FIRE_TIMEOUT_SECONDS) ??
    file.watchdogFireTimeoutSeconds ??
    DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS;
  const killGraceSeconds =
    flagInteger(flags.killGrace, '--kill-grace', 0, MAX_KILL_GRACE_SECONDS) ??
    file.killGraceSeconds ??
    defaultKillGraceSeconds(watchdogFireTimeoutSeconds);
  return {
    configPath,
    socketPath: flags.socket ?? DEFAULT_SOCKET_PATH,
    stateDir: flags.stateDir ?? DEFAULT_STATE_DIR,
    hostIdFile: flags.hostIdFile ?? file.hostIdFile ?? DEFAULT_HOST_ID_CONF_PATH,
    ioTimeoutSeconds,
    watchdogFireTimeoutSeconds,
    killGraceSeconds,
    socketGroup: flags.socketGroup ?? file.socketGroup,
    socketMode: flags.testSocketMode ?? DEFAULT_SOCKET_MODE,
    hostName: flags.hostName !== undefined ? validateHostName(flags.hostName, '--host-name') : file.hostName,
    killCommands: { fallback: file.killCommandFallback, byLockspace: file.killCommandByLockspace },
    watchdog: flags.watchdog ?? DEFAULT_WATCHDOG,
    watchdogSocketPath: flags.watchdogSocket ?? file.watchdogSocket ?? DEFAULT_COMPANION_SOCKET_PATH,
    logLevel: flags.logLevel !== undefined ? parseLogLevel(flags.logLevel, '--log-level') : (file.logLevel ?? 'info'),
    testFaultDir: flags.testFaultDir,
    lanes: flags.lanes !== undefined ? parseLaneMode(flags.lanes, '--lanes') : (file.lanes ?? 'shared'),
    activationBackend:
      flags.activationBackend !== undefined
        ? parseBackend(flags.activationBackend, '--activation-backend')
        : file.activationBackend,
    deviceDir:
      flags.deviceDir !== undefined
        ? absoluteDir(flags.deviceDir, '--device-dir')
        : (file.deviceDir ?? DEFAULT_DEVICE_DIR),
    refreshCommand: file.refreshCommand,
  };
}

export type LaneMode = 'shared' | 'per-device';

function parseLaneMode(text: string, what: string): LaneMode {
  if (text !== 'shared' && text !== 'per-device')
    throw badConfig(`${what} must be "shared" or "per-device", got "${text}"`);
  return text;
}

export function killCommandFor(config: DaemonConfig, lockspace: string): string[] | undefined {
  return config.killCommands.byLockspace.get(lockspace) ?? config.killCommands.fallback;
}
