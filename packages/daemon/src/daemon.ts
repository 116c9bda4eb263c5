/**
 * `leasehold daemon`: the composition root. Start-up order:
 *   config -> logger -> state db (one daemon per state dir) -> host name -> watchdog link ->
 *   socket (clients may connect at once) -> lockspaces recorded in state (resumed/adopted, or
 *   started after their old holders are confirmed dead) -> READY=1 to systemd.
 *
 * Shutdown (SIGTERM/SIGINT): with no lease held, every lockspace is left cleanly (delta leases
 * released) and the daemon exits 0. While leases are held it refuses, because leaving would let
 * other hosts take leases that processes here still use; a second signal within FORCE_WINDOW_MS
 * exits at once without releasing anything (like a crash: the next daemon resumes and adopts).
 * Exits never go through process.exit() while a lane may sit in a syscall on a dead device (it would
 * hang joining that thread): the emergency exit is SIGKILL to ourselves.
 */
import { sdNotify } from '@leasehold/native';
import { ActivationLossHandler } from './activations/activation-loss.js';
import { ActivationRegistry } from './activations/activation-registry.js';
import { chooseBackend, findDeviceOpeners } from './activations/backend-choice.js';
import { defaultRefreshCommand, runCommand, SharedRefresh } from './activations/shared-refresh.js';
import type { Server, Socket } from 'node:net';
import { ClientRegistry } from './clients/client-registry.js';
import { readBootId } from './clients/proc.js';
import { ProcessWatch } from './clients/process-watch.js';
import { resolveDaemonConfig, type DaemonConfig, type DaemonFlags } from './config/daemon-config.js';
import { loadHostIdConf } from './config/host-id-conf.js';
import { persistentHostName } from './host-name.js';
import { KillAction } from './leases/kill-action.js';
import { LeaseRegistry } from './leases/lease-registry.js';
import { LockspaceManager, wireErrorOf } from './lockspaces/lockspace-manager.js';
import { createDaemonLogger, type DaemonLogger } from './logger.js';
import { parseLogFormat } from '@leasehold/protocol/log-format';
import { claimPidFile } from './pid-file.js';
import { MAX_CLIENTS } from '@leasehold/protocol';
import { encodeLine } from '@leasehold/protocol';
import { createRequestHandler } from './request-handler.js';
import { AccessPolicy, resolveGroup } from './server/access.js';
import { Connection } from './server/connection.js';
import { listenOnSocketFile } from '@leasehold/protocol/socket-file';
import { CHECKPOINT_INTERVAL_MS, StateDb } from './state/state-db.js';
import { monotonicSeconds } from './util/monotonic.js';
import { createWatchdogLink } from './watchdog/watchdog-link.js';

const BOOT_ID_KEY = 'boot_id';
/** A second SIGTERM/SIGINT within this window forces the exit. */
export const FORCE_WINDOW_MS = 5000;

export interface RunningDaemon {
  config: DaemonConfig;
  /** Resolves when the daemon has stopped serving. */
  stopped: Promise<void>;
}

export async function runDaemon(flags: DaemonFlags): Promise<RunningDaemon> {
  const config = resolveDaemonConfig(flags);
  const logger = createDaemonLogger(config.logLevel, parseLogFormat(flags.logFormat, '--log-format'));
  const startedAtSeconds = monotonicSeconds();
  const hostIds = loadHostIdConf(config.hostIdFile);
  const db = StateDb.open(config.stateDir, (error) =>
    logger.warn({ err: error }, 'writing history rows to the state database failed: they are dropped'),
  );
  const releasePidFile = claimPidFile(config.stateDir);
  const hostName = persistentHostName(db, config.hostName);
  const bootId = readBootId();
  const sameBoot = db.getMeta(BOOT_ID_KEY) === bootId;
  db.setMeta(BOOT_ID_KEY, bootId);
  const socketGid = config.socketGroup === undefined ? undefined : resolveGroup(config.socketGroup);
  const access = new AccessPolicy(process.getuid?.() ?? 0, socketGid);

  const watchdog = createWatchdogLink(config.watchdog, logger, {
    socketPath: config.watchdogSocketPath,
    fireTimeoutSeconds: config.watchdogFireTimeoutSeconds,
  });
  await watchdog.start();

  const watch = new ProcessWatch();
  let manager!: LockspaceManager;
  const kill = new KillAction(watch, logger, (lockspace) => manager.onClean(lockspace));
  manager = new LockspaceManager({ config, hostName, db, hostIds, watchdog, kill, watch, logger });
  const leases = new LeaseRegistry(manager, db, watch, config, logger);
  const activations = new ActivationRegistry({
    leases,
    manager,
    db,
    backend: chooseBackend(config.activationBackend),
    deviceDir: config.deviceDir,
    findOpeners: findDeviceOpeners,
    logger,
  });
  activations.load(sameBoot);
  const activationLoss = new ActivationLossHandler({
    registry: activations,
    kill,
    config,
    db,
    findOpeners: findDeviceOpeners,
    logger,
  });
  kill.setPersistentHandler((lockspace, resources) => activationLoss.onLost(lockspace, resources));
  manager.subscribe(leases);
  manager.subscribe({ adoptStored: (ls) => void activations.restore(ls.name) });
  const sharedRefresh = new SharedRefresh({
    activations: (lockspace) => activations.list(lockspace),
    setEvent: (lockspace, hostId, event, data) => manager.setEvent(lockspace, hostId, event, data, 0n, true),
    command: config.refreshCommand ?? defaultRefreshCommand(),
    env: { LEASEHOLD_SOCKET: config.socketPath },
    run: runCommand,
    logger,
    onRefreshed: (lockspace, details) => db.addHistory('shared_refresh', { lockspace, details }),
  });
  manager.onEvent((lockspace, event) => sharedRefresh.onEvent(lockspace, event));
  const clients = new ClientRegistry(watch, (client) => {
    logger.debug({ clientPid: client.pid }, 'client process exited');
  });

  let shuttingDown = false;
  const handle = createRequestHandler({
    config,
    hostName,
    lockspaces: manager,
    leases,
    activations,
    clients,
    watchdog,
    logger,
    startedAtSeconds,
    isShuttingDown: () => shuttingDown,
  });

  const connections = new Set<Connection>();
  const onSocket = (socket: Socket): void => {
    if (connections.size >= MAX_CLIENTS) {
      socket.end(
        encodeLine({
          id: null,
          ok: false,
          error: { code: 'TOO_MANY_CLIENTS', message: `at most ${MAX_CLIENTS} connections` },
        }),
      );
      return;
    }
    const connection = new Connection(socket, {
      access,
      clients,
      handle,
      logger,
      toWireError: wireErrorOf,
      onClosed: (closed) => connections.delete(closed),
    });
    connections.add(connection);
    if (!connection.start()) connections.delete(connection);
  };

  let server: Server;
  try {
    server = await listenOnSocketFile(config.socketPath, config.socketMode, socketGid, onSocket);
  } catch (error) {
    releasePidFile();
    db.close();
    throw error;
  }
  logger.info(
    {
      socket: config.socketPath,
      stateDir: config.stateDir,
      hostName,
      ioTimeoutSeconds: config.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: config.watchdogFireTimeoutSeconds,
      bootId,
      sameBoot,
    },
    'daemon serving',
  );

  manager.recoverAll(sameBoot);
  const checkpointTimer = setInterval(() => {
    try {
      db.checkpoint();
    } catch (error) {
      logger.warn({ err: error }, 'state database checkpoint failed');
    }
  }, CHECKPOINT_INTERVAL_MS);
  checkpointTimer.unref();
  notifySystemd('READY=1', logger);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let lastSignalMs = 0;

  const finish = (code: number): void => {
    clearInterval(checkpointTimer);
    server.close();
    for (const connection of connections) connection.close();
    watch.close();
    activationLoss.close();
    kill.close();
    try {
      db.close();
    } catch {
      // closing twice
    }
    releasePidFile();
    resolveStopped();
    logger.flush?.();
    // A lane stuck in a syscall would make a normal exit hang forever.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2000).unref();
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    const nowMs = Date.now();
    if (shuttingDown && nowMs - lastSignalMs < FORCE_WINDOW_MS) return;
    if (manager.hasLeases()) {
      if (nowMs - lastSignalMs < FORCE_WINDOW_MS) {
        logger.warn(
          { signal },
          'forced exit with leases held: they stay ours on disk until a restarted daemon adopts them or they expire',
        );
        finish(1);
        return;
      }
      lastSignalMs = nowMs;
      logger.error(
        { signal },
        `refusing to stop while leases are held (send ${signal} again within ${FORCE_WINDOW_MS / 1000} s to exit anyway)`,
      );
      return;
    }
    lastSignalMs = nowMs;
    shuttingDown = true;
    notifySystemd('STOPPING=1', logger);
    logger.info({ signal }, 'shutting down: leaving every lockspace');
    manager
      .shutdown()
      .catch((error: unknown) => logger.error({ err: error }, 'shutdown error'))
      .finally(
        () =>
          void watchdog
            .close()
            .catch(() => undefined)
            .finally(() => finish(0)),
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A daemon does not die with the terminal it was started from.
  process.on('SIGHUP', () => logger.info('SIGHUP ignored'));
  // A bug must not leave a half-working lock manager behind; the next start resumes and adopts.
  // process.exit() could hang behind a lane stuck in a syscall, so the exit is SIGKILL to ourselves.
  const die = (error: unknown): void => {
    logger.fatal(
      { err: error },
      'internal error: the daemon stops (the next start resumes its lockspaces and adopts its leases)',
    );
    process.kill(process.pid, 'SIGKILL');
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);

  return { config, stopped };
}

function notifySystemd(message: string, logger: DaemonLogger): void {
  const socket = process.env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return;
  try {
    sdNotify(socket, message);
  } catch (error) {
    logger.warn({ err: error, message }, 'sd_notify failed');
  }
}
