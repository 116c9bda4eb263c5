/**
 * One emulated host of the test cluster: a pid + mount namespace whose init is a small shell that
 * mounts a private tmpfs on /dev/shm (so an emulated reboot clears the companion's marker, as a real
 * one clears /dev/shm) and reaps orphans. Its daemon, companion and clients are started in it with
 * nsenter; its test watchdog device runs outside it. A reset kills the namespace.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { WatchdogError } from '../../errors.js';
import type { ClusterConfig, HostPaths } from '../cluster/cluster-layout.js';
import { runningHost, writeHostRecord, type HostRecord } from '../device/host-file.js';
import { commandLineOf, isRunning, pidNamespaceOf, processesInNamespace } from './pid-namespace.js';

export type HostRole = 'daemon' | 'companion';

const SHM_FS_NAME = 'leasehold-shm';
const INIT_SCRIPT = `mount -t tmpfs -o size=4m,mode=1777 ${SHM_FS_NAME} /dev/shm || exit 1; trap '' TERM INT HUP; while :; do sleep 3600 & wait; done`;
const BOOT_TIMEOUT_MS = 10_000;
const POLL_MS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new WatchdogError('CLUSTER_ERROR', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function logFd(path: string): number {
  return openSync(path, 'a');
}

/** Starts the host's namespace (not its processes) and records it for its device. */
export async function bootNamespace(paths: HostPaths): Promise<HostRecord> {
  mkdirSync(paths.dir, { recursive: true });
  const log = logFd(paths.initLog);
  let unshare: ChildProcess;
  try {
    // --kill-child: if unshare itself is killed, the host goes down with it.
    unshare = spawn(
      'unshare',
      [
        '--fork',
        '--pid',
        '--mount',
        '--mount-proc',
        '--propagation',
        'private',
        '--kill-child',
        '--',
        '/bin/sh',
        '-c',
        INIT_SCRIPT,
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
      },
    );
  } finally {
    closeSync(log);
  }
  const spawnError = new Promise<never>((_, reject) =>
    unshare.once('error', (error) =>
      reject(new WatchdogError('CLUSTER_ERROR', `cannot run unshare: ${error.message}`)),
    ),
  );
  unshare.unref();
  const ourNamespace = pidNamespaceOf(process.pid);
  const booted = (async () => {
    const unsharePid = unshare.pid!;
    const initPid = await until('the host init to start', BOOT_TIMEOUT_MS, () => {
      if (!isRunning(unsharePid))
        throw new WatchdogError('CLUSTER_ERROR', `unshare exited: ${readFileSync(paths.initLog, 'utf8').slice(-2000)}`);
      let children: string;
      try {
        children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
      } catch {
        return undefined;
      }
      const pid = Number(children.split(/\s+/)[0]);
      return Number.isInteger(pid) && pid > 0 && pidNamespaceOf(pid) !== ourNamespace ? pid : undefined;
    });
    const pidNamespace = pidNamespaceOf(initPid)!;
    // The host's /dev/shm must be its own before anything runs there.
    await until('the host /dev/shm', BOOT_TIMEOUT_MS, () => {
      try {
        return readFileSync(`/proc/${initPid}/mountinfo`, 'utf8').includes(` ${SHM_FS_NAME} `) ? true : undefined;
      } catch {
        throw new WatchdogError(
          'CLUSTER_ERROR',
          `the host init exited: ${readFileSync(paths.initLog, 'utf8').slice(-2000)}`,
        );
      }
    });
    const record: HostRecord = { initPid, pidNamespace, bootedAt: new Date().toISOString(), bootId: randomUUID() };
    writeHostRecord(paths.hostFile, record);
    return record;
  })();
  return Promise.race([booted, spawnError]);
}

export function requireRunningHost(paths: HostPaths): HostRecord {
  const record = runningHost(paths.hostFile);
  if (record === undefined)
    throw new WatchdogError(
      'HOST_DOWN',
      `${paths.name} is not running (start it with \`leasehold testing cluster restart ${paths.name}\`)`,
    );
  return record;
}

/** The argv that runs `argv` inside the host. `leasehold` means the cluster's own CLI. */
export function inHostArgv(
  config: ClusterConfig,
  record: HostRecord,
  argv: string[],
  workingDirectory: string,
): string[] {
  const command = argv[0] === 'leasehold' ? [config.nodePath, config.cliPath, ...argv.slice(1)] : argv;
  return ['-t', String(record.initPid), '--pid', '--mount', `--wd=${workingDirectory}`, '--', ...command];
}

/** The daemon reads this instead of /proc/sys/kernel/random/boot_id (see daemon clients/proc.ts). */
export const BOOT_ID_ENV = 'LEASEHOLD_BOOT_ID';

/** What every process of the host sees: its daemon's socket and this boot's id. */
export function hostEnvironment(paths: HostPaths, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const record = requireRunningHost(paths);
  return { ...process.env, ...extra, LEASEHOLD_SOCKET: paths.socket, [BOOT_ID_ENV]: record.bootId };
}

/** Runs a command in the host (foreground: the caller waits for it). */
export function spawnInHost(
  config: ClusterConfig,
  paths: HostPaths,
  argv: string[],
  stdio: StdioOptions,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const record = requireRunningHost(paths);
  return spawn('nsenter', inHostArgv(config, record, argv, process.cwd()), {
    stdio,
    env: hostEnvironment(paths, env),
  });
}

/**
 * Starts a long-running process in the host, its output appended to `logPath`. `setsid -f` forks it
 * away from nsenter, so its parent is the host's init (as a service's parent is a real host's init),
 * and nothing outside the host waits for it.
 */
export function startDetachedInHost(config: ClusterConfig, paths: HostPaths, argv: string[], logPath: string): void {
  const record = requireRunningHost(paths);
  const log = logFd(logPath);
  try {
    const [first, ...rest] = inHostArgv(config, record, argv, paths.dir);
    const separator = rest.indexOf('--');
    const inHost = [first!, ...rest.slice(0, separator + 1), 'setsid', '-f', ...rest.slice(separator + 1)];
    const child = spawn('nsenter', inHost, {
      detached: true,
      stdio: ['ignore', log, log],
      env: hostEnvironment(paths),
    });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(log);
  }
}

function isRole(argv: string[], role: HostRole, paths: HostPaths): boolean {
  const socketIndex = argv.indexOf('--socket');
  const socket = socketIndex === -1 ? undefined : argv[socketIndex + 1];
  if (role === 'daemon') return argv.includes('daemon') && socket === paths.socket;
  return argv.includes('watchdog') && socket === paths.companionSocket;
}

/** The pid (as seen from the cluster) of the host's daemon or companion, if it runs. */
export function findRole(paths: HostPaths, role: HostRole): number | undefined {
  const record = runningHost(paths.hostFile);
  if (record === undefined) return undefined;
  return processesInNamespace(record.pidNamespace).find(
    (pid) => isRunning(pid) && isRole(commandLineOf(pid), role, paths),
  );
}

/** Every process of the host (init included). */
export function hostProcesses(paths: HostPaths): number[] {
  const record = runningHost(paths.hostFile);
  return record === undefined ? [] : processesInNamespace(record.pidNamespace);
}
