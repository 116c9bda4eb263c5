/**
 * `leasehold watchdog`: the composition root of the companion. Start-up order:
 *   options -> marker (refuse after an unclean exit) -> socket not served by another companion ->
 *   device probe (open, timeout W, verify, disarm) -> marker created -> socket -> READY=1.
 *
 * It does no storage I/O and nothing else slow: a keepalive is one write. SIGTERM/SIGINT stop it only
 * when nothing is registered (then the device is disarmed and the marker removed); with
 * registrations it refuses, because stopping would either reset the host or leave it unfenced.
 * Any other exit leaves the marker, so the next start refuses until the host is reset or an
 * operator clears it.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '@leasehold/lease';
import { sdNotify } from '@leasehold/native';
import {
  COMPANION_PROTOCOL_VERSION,
  DEFAULT_COMPANION_SOCKET_PATH,
  type StatusResult,
} from '@leasehold/protocol/companion';
import { WatchdogError } from '../errors.js';
import { deviceAt, DEFAULT_DEVICE_PATH } from '../device/open-device.js';
import type { WatchdogDevice } from '../device/watchdog-device.js';
import {
  DEFAULT_FIRE_TIMEOUT_SECONDS,
  defaultIntervalSeconds,
  isValidInterval,
  MAX_FIRE_TIMEOUT_SECONDS,
  MIN_FIRE_TIMEOUT_SECONDS,
  monotonicSeconds,
} from '../timing.js';
import { listenCompanionSocket, socketAnswers } from './companion-server.js';
import { DeviceKeeper } from './device-keeper.js';
import { createMarker, DEFAULT_MARKER_PATH, removeMarker, requireNoMarker } from './marker.js';
import { probeDevice, type ProbeResult } from './probe.js';
import { Registrations } from './registrations.js';

export interface CompanionOptions {
  devicePath?: string;
  socketPath?: string;
  markerPath?: string;
  fireTimeoutSeconds?: number;
  intervalSeconds?: number;
  logger: Logger;
  /** Replaces the device found at devicePath (unit tests). */
  device?: WatchdogDevice;
  /** Install SIGTERM/SIGINT handlers (the CLI does; in-process tests do not). */
  handleSignals?: boolean;
}

export interface ResolvedCompanionOptions {
  devicePath: string;
  socketPath: string;
  markerPath: string;
  fireTimeoutSeconds: number;
  intervalSeconds: number;
}

export interface RunningCompanion {
  options: ResolvedCompanionOptions;
  status(): StatusResult;
  /** Stops like SIGTERM: refused (false) while registrations exist. */
  stop(): Promise<boolean>;
  /** Resolves when the companion has stopped cleanly. */
  stopped: Promise<void>;
}

export function resolveCompanionOptions(options: Omit<CompanionOptions, 'logger'>): ResolvedCompanionOptions {
  const fireTimeoutSeconds = options.fireTimeoutSeconds ?? DEFAULT_FIRE_TIMEOUT_SECONDS;
  if (
    !Number.isInteger(fireTimeoutSeconds) ||
    fireTimeoutSeconds < MIN_FIRE_TIMEOUT_SECONDS ||
    fireTimeoutSeconds > MAX_FIRE_TIMEOUT_SECONDS
  ) {
    throw new WatchdogError(
      'BAD_ARGUMENT',
      `--fire-timeout must be an integer ${MIN_FIRE_TIMEOUT_SECONDS}-${MAX_FIRE_TIMEOUT_SECONDS}, got ${fireTimeoutSeconds}`,
    );
  }
  const intervalSeconds = options.intervalSeconds ?? defaultIntervalSeconds(fireTimeoutSeconds);
  if (!isValidInterval(intervalSeconds, fireTimeoutSeconds)) {
    throw new WatchdogError(
      'BAD_ARGUMENT',
      `--interval must be > 0 and at most half the fire timeout (${fireTimeoutSeconds / 2} s), got ${intervalSeconds}`,
    );
  }
  return {
    devicePath: options.devicePath ?? DEFAULT_DEVICE_PATH,
    socketPath: options.socketPath ?? DEFAULT_COMPANION_SOCKET_PATH,
    markerPath: options.markerPath ?? DEFAULT_MARKER_PATH,
    fireTimeoutSeconds,
    intervalSeconds,
  };
}

/** `leasehold watchdog --probe`: the marker and device checks alone; the device is left disarmed. */
export async function probeOnly(options: Omit<CompanionOptions, 'logger'>): Promise<ProbeResult> {
  const resolved = resolveCompanionOptions(options);
  requireNoMarker(resolved.markerPath);
  return probeDevice(options.device ?? deviceAt(resolved.devicePath), resolved.fireTimeoutSeconds);
}

export async function runCompanion(options: CompanionOptions): Promise<RunningCompanion> {
  const resolved = resolveCompanionOptions(options);
  const { logger } = options;
  requireNoMarker(resolved.markerPath);
  if (await socketAnswers(resolved.socketPath))
    throw new WatchdogError('ALREADY_RUNNING', `another companion serves ${resolved.socketPath}`);
  const device = options.device ?? deviceAt(resolved.devicePath);
  const probe = await probeDevice(device, resolved.fireTimeoutSeconds);
  logger.info({ ...probe }, 'watchdog device checked (disarmed until a lockspace registers)');

  mkdirSync(dirname(resolved.markerPath), { recursive: true });
  createMarker(resolved.markerPath, {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    device: resolved.devicePath,
    socket: resolved.socketPath,
  });

  const registrations = new Registrations();
  const keeper = new DeviceKeeper({
    device,
    registrations,
    fireTimeoutSeconds: resolved.fireTimeoutSeconds,
    intervalSeconds: resolved.intervalSeconds,
    logger,
  });
  let stopping = false;

  const status = (): StatusResult => {
    const now = monotonicSeconds();
    return {
      pid: process.pid,
      device: resolved.devicePath,
      deviceState: keeper.deviceState,
      fireTimeoutSeconds: resolved.fireTimeoutSeconds,
      intervalSeconds: resolved.intervalSeconds,
      lastKeepaliveSeconds: keeper.lastKeepaliveSeconds,
      nowSeconds: now,
      registrations: registrations.list(now),
    };
  };

  let server: Server;
  try {
    server = await listenCompanionSocket(
      resolved.socketPath,
      {
        fireTimeoutSeconds: resolved.fireTimeoutSeconds,
        hello: () => ({
          version: COMPANION_PROTOCOL_VERSION,
          fireTimeoutSeconds: resolved.fireTimeoutSeconds,
          intervalSeconds: resolved.intervalSeconds,
          device: resolved.devicePath,
        }),
        set: (lockspace, expiresAtSeconds, daemonPid) => {
          if (!registrations.set(lockspace, expiresAtSeconds, daemonPid)) return false;
          logger.debug(
            { lockspace, expiresAtSeconds, expiresInSeconds: expiresAtSeconds - monotonicSeconds(), daemonPid },
            'registration set',
          );
          void keeper.reconcile();
          return true;
        },
        lost: (lockspace, daemonPid) => {
          registrations.markLost(lockspace);
          logger.warn({ lockspace, daemonPid }, 'daemon reports the lease lost: its deadline no longer moves');
        },
        remove: (lockspace, daemonPid) => {
          if (registrations.remove(lockspace))
            logger.info({ lockspace, daemonPid, left: registrations.size }, 'registration removed');
          void keeper.reconcile();
        },
        status,
        isStopping: () => stopping,
      },
      logger,
    );
  } catch (error) {
    removeMarker(resolved.markerPath);
    throw error;
  }
  logger.info({ ...resolved }, 'watchdog companion serving');
  notifySystemd('READY=1', logger);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const stop = async (): Promise<boolean> => {
    if (registrations.size > 0) {
      logger.error(
        { registrations: registrations.list(monotonicSeconds()).map((r) => r.lockspace) },
        'refusing to stop while lockspaces are registered (stopping would reset this host or leave it unfenced): lockstop them first',
      );
      return false;
    }
    if (stopping) return true;
    stopping = true;
    notifySystemd('STOPPING=1', logger);
    await keeper.reconcile(); // idle: disarms the device
    await keeper.stop();
    server.close();
    removeMarker(resolved.markerPath);
    logger.info({}, 'watchdog companion stopped; device disarmed');
    resolveStopped();
    return true;
  };

  if (options.handleSignals === true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stop requested');
      void stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // A hangup (a closed terminal) must not kill it: that would be an unclean exit, and a reset.
    process.on('SIGHUP', () => logger.warn({ signal: 'SIGHUP' }, 'ignored SIGHUP'));
  }

  return { options: resolved, status, stop, stopped };
}

function notifySystemd(message: string, logger: Logger): void {
  const socket = process.env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return;
  try {
    sdNotify(socket, message);
  } catch (error) {
    logger.warn({ err: error, message }, 'sd_notify failed');
  }
}
