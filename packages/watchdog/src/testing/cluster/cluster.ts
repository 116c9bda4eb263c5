/**
 * `leasehold testing cluster ...`: N emulated hosts on one machine, sharing one disk image. Each host
 * is a pid namespace running a lock daemon and a watchdog companion; each has a test watchdog device
 * (outside the namespace) that kills the whole namespace when it fires. Tests, demos and chaos runs
 * drive hosts through these operations.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WatchdogError } from '../../errors.js';
import { socketAnswers } from '../../companion/companion-server.js';
import { runningHost } from '../device/host-file.js';
import type { EmulatedWatchdogStatus } from '../device/emulated-watchdog.js';
import {
  bootNamespace,
  findRole,
  hostProcesses,
  requireRunningHost,
  startDetachedInHost,
  type HostRole,
} from '../host/emulated-host.js';
import { isRunning, killNamespace, signal } from '../host/pid-namespace.js';
import {
  hostName,
  hostPaths,
  readClusterConfig,
  requireHost,
  writeClusterConfig,
  CLUSTER_FORMAT_VERSION,
  type ClusterConfig,
  type HostPaths,
} from './cluster-layout.js';

/** Test timeouts: io_timeout 1, W 10 (host_dead 18 s). */
export const DEFAULT_CLUSTER_IO_TIMEOUT_SECONDS = 1;
export const DEFAULT_CLUSTER_FIRE_TIMEOUT_SECONDS = 10;
export const DEFAULT_DISK_SIZE_BYTES = 64 * 1024 * 1024;
export const MAX_CLUSTER_HOSTS = 16;
const MIB = 1024 * 1024;
const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 50;
const DEVICE_STOP_TIMEOUT_MS = 2000;
const LOOP_DEVICE_PATTERN = /^\/dev\/loop\d+$/;

/** The device process's entry (dist, also when this module runs from src under a test runner). */
const DEVICE_MAIN = fileURLToPath(new URL('../../../dist/testing/device/test-device-main.js', import.meta.url));

export type Target = 'host' | HostRole;

export interface StartOptions {
  dir: string;
  hosts: number;
  disk?: string;
  diskSizeBytes?: number;
  ioTimeoutSeconds?: number;
  watchdogFireTimeoutSeconds?: number;
  /** Initialize this lockspace (at 0) and `resources` resource leases R1.. (at 1 MiB, 2 MiB, ...) on a new disk. */
  lockspace?: string;
  resources?: number;
  nodePath: string;
  cliPath: string;
  /** Extra leasehold.conf settings for every daemon (key = value lines). */
  daemonSettings?: Record<string, string>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function tail(path: string, bytes = 3000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

async function waitForSocket(what: string, path: string, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (existsSync(path) && (await socketAnswers(path))) return;
    const failure = failed();
    if (failure !== undefined) throw new WatchdogError('CLUSTER_ERROR', `${what} did not start: ${failure}`);
    if (Date.now() > deadline)
      throw new WatchdogError('CLUSTER_ERROR', `${what} did not answer within ${READY_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

function runCli(config: ClusterConfig, args: string[]): void {
  const result = spawnSync(config.nodePath, [config.cliPath, ...args], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new WatchdogError('CLUSTER_ERROR', `leasehold ${args.join(' ')} failed: ${result.stderr}`);
}

// ------------------------------------------------------------------------------------- devices

function devicePidFile(paths: HostPaths): string {
  return join(paths.dir, 'watchdog-device.pid');
}

function devicePid(paths: HostPaths): number | undefined {
  try {
    const pid = Number(readFileSync(devicePidFile(paths), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isRunning(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function startDevice(config: ClusterConfig, paths: HostPaths): Promise<void> {
  if (devicePid(paths) !== undefined) return;
  const log = openSync(paths.deviceLog, 'a');
  let pid: number;
  try {
    // Detached: its own session, outside every emulated host, so no reset can reach it.
    const child = spawn(
      config.nodePath,
      [
        DEVICE_MAIN,
        '--socket',
        paths.deviceSocket,
        '--control',
        paths.deviceControl,
        '--timeout',
        String(config.watchdogFireTimeoutSeconds),
        '--host-file',
        paths.hostFile,
        '--events',
        paths.deviceEvents,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.on('error', () => undefined);
    child.unref();
    pid = child.pid!;
  } finally {
    closeSync(log);
  }
  writeFileSync(devicePidFile(paths), `${pid}\n`);
  await waitForSocket(`the test watchdog device of ${paths.name}`, paths.deviceControl, () =>
    isRunning(pid) ? undefined : tail(paths.deviceLog),
  );
}

/** One line to the device's control socket; resolves to its JSON answer. */
function deviceControl(
  paths: HostPaths,
  command: 'status' | 'power-cycle',
): Promise<{ ok: boolean; status?: EmulatedWatchdogStatus; error?: string }> {
  return new Promise((done, fail) => {
    const socket = createConnection(paths.deviceControl);
    let buffered = '';
    socket.once('error', (error) =>
      fail(
        new WatchdogError(
          'CLUSTER_ERROR',
          `the test watchdog device of ${paths.name} does not answer: ${error.message}`,
        ),
      ),
    );
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      socket.destroy();
      done(JSON.parse(buffered.slice(0, newline)) as { ok: boolean; status?: EmulatedWatchdogStatus });
    });
  });
}

async function stopDevice(paths: HostPaths): Promise<void> {
  const pid = devicePid(paths);
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + DEVICE_STOP_TIMEOUT_MS;
  while (isRunning(pid) && Date.now() < deadline) await sleep(POLL_MS);
  if (isRunning(pid)) signal(pid, 'SIGKILL');
  rmSync(devicePidFile(paths), { force: true });
}

// ------------------------------------------------------------------------------ host processes

function daemonArgv(config: ClusterConfig, paths: HostPaths): string[] {
  return [
    'leasehold',
    'daemon',
    '--socket',
    paths.socket,
    '--state-dir',
    paths.stateDir,
    '--config',
    config.daemonSettings === undefined ? '/dev/null' : paths.daemonConfig,
    '--host-id-file',
    join(paths.dir, 'host-id.conf'),
    '--io-timeout',
    String(config.ioTimeoutSeconds),
    '--watchdog-fire-timeout',
    String(config.watchdogFireTimeoutSeconds),
    '--watchdog',
    'companion',
    '--watchdog-socket',
    paths.companionSocket,
    '--host-name',
    paths.name,
    '--test-fault-dir',
    paths.faultDir,
    // Each host's own <vg>/<lv> links; loop devices, which work wherever the kernel has loop.
    '--device-dir',
    join(paths.dir, 'dev'),
    '--activation-backend',
    'loop',
    '--log-level',
    'debug',
  ];
}

function companionArgv(config: ClusterConfig, paths: HostPaths): string[] {
  return [
    'leasehold',
    'watchdog',
    '--device',
    paths.deviceSocket,
    '--socket',
    paths.companionSocket,
    '--fire-timeout',
    String(config.watchdogFireTimeoutSeconds),
    '--log-level',
    'debug',
  ];
}

async function startRole(config: ClusterConfig, paths: HostPaths, role: HostRole): Promise<void> {
  requireRunningHost(paths);
  if (findRole(paths, role) !== undefined) return;
  const socket = role === 'daemon' ? paths.socket : paths.companionSocket;
  const logPath = role === 'daemon' ? paths.daemonLog : paths.companionLog;
  const logStart = existsSync(logPath) ? readFileSync(logPath).length : 0;
  // A socket file left by a killed process would look like a live one until someone connects.
  rmSync(socket, { force: true });
  startDetachedInHost(
    config,
    paths,
    role === 'daemon' ? daemonArgv(config, paths) : companionArgv(config, paths),
    logPath,
  );
  const startedAt = Date.now();
  await waitForSocket(`the ${role} of ${paths.name}`, socket, () => {
    // Give the process a moment to appear before concluding it has exited.
    if (Date.now() - startedAt < 2000 || findRole(paths, role) !== undefined) return undefined;
    return readFileSync(logPath, 'utf8').slice(logStart).slice(-3000) || 'it exited';
  });
}

function writeDaemonConfig(config: ClusterConfig, paths: HostPaths): void {
  if (config.daemonSettings === undefined) return;
  // Every host has its own device_dir: emulated hosts share the machine's /dev.
  const settings = { device_dir: paths.deviceDir, ...config.daemonSettings };
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${value}\n`);
  writeFileSync(paths.daemonConfig, lines.join(''));
}

/**
 * What a reboot takes away besides the processes: the LV mappings the host had set up. Loop devices
 * are the machine's, so the emulated host's (those its device_dir links to) are detached here.
 */
function detachHostDevices(paths: HostPaths): string[] {
  const detached: string[] = [];
  if (!existsSync(paths.deviceDir)) return detached;
  for (const vg of readdirSync(paths.deviceDir)) {
    const vgDir = join(paths.deviceDir, vg);
    let entries: string[];
    try {
      entries = readdirSync(vgDir);
    } catch {
      continue;
    }
    for (const lv of entries) {
      let target: string;
      try {
        target = resolve(vgDir, readlinkSync(join(vgDir, lv)));
      } catch {
        continue;
      }
      if (!LOOP_DEVICE_PATTERN.test(target)) continue;
      spawnSync('losetup', ['-d', target], { stdio: 'ignore' });
      detached.push(target);
    }
  }
  rmSync(paths.deviceDir, { recursive: true, force: true });
  return detached;
}

async function bootHost(config: ClusterConfig, paths: HostPaths): Promise<void> {
  mkdirSync(paths.faultDir, { recursive: true });
  writeDaemonConfig(config, paths);
  await bootNamespace(paths);
  await startRole(config, paths, 'companion');
  await startRole(config, paths, 'daemon');
}

/** Pulls the plug: every process of the host dies at once; its device comes back disarmed. */
async function powerOff(paths: HostPaths): Promise<void> {
  const record = runningHost(paths.hostFile);
  if (record !== undefined) await killNamespace(record.initPid, record.pidNamespace);
  detachHostDevices(paths);
  if (devicePid(paths) !== undefined) await deviceControl(paths, 'power-cycle');
}

function targetPids(paths: HostPaths, target: Target): number[] {
  requireRunningHost(paths);
  if (target === 'host') return hostProcesses(paths);
  const pid = findRole(paths, target);
  if (pid === undefined) throw new WatchdogError('CLUSTER_ERROR', `the ${target} of ${paths.name} is not running`);
  return [pid];
}

// ---------------------------------------------------------------------------------- operations

export async function startCluster(options: StartOptions): Promise<ClusterConfig> {
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > MAX_CLUSTER_HOSTS) {
    throw new WatchdogError('BAD_ARGUMENT', `--hosts must be 1-${MAX_CLUSTER_HOSTS}, got ${options.hosts}`);
  }
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'cluster.json'))) {
    const previous = readClusterConfig(dir);
    for (let index = 1; index <= previous.hosts; index++) {
      if (runningHost(hostPaths(dir, hostName(index)).hostFile) !== undefined) {
        throw new WatchdogError('CLUSTER_ERROR', `a cluster is already running in ${dir} (stop it first)`);
      }
    }
  }
  const config: ClusterConfig = {
    version: CLUSTER_FORMAT_VERSION,
    dir,
    hosts: options.hosts,
    disk: resolve(options.disk ?? join(dir, 'disk.img')),
    ioTimeoutSeconds: options.ioTimeoutSeconds ?? DEFAULT_CLUSTER_IO_TIMEOUT_SECONDS,
    watchdogFireTimeoutSeconds: options.watchdogFireTimeoutSeconds ?? DEFAULT_CLUSTER_FIRE_TIMEOUT_SECONDS,
    nodePath: options.nodePath,
    cliPath: options.cliPath,
    createdAt: new Date().toISOString(),
    ...(options.daemonSettings === undefined ? {} : { daemonSettings: options.daemonSettings }),
  };
  if (!existsSync(config.disk)) {
    closeSync(openSync(config.disk, 'w'));
    truncateSync(config.disk, options.diskSizeBytes ?? DEFAULT_DISK_SIZE_BYTES);
    if (options.lockspace !== undefined) {
      runCli(config, [
        'direct',
        'init',
        '-s',
        `${options.lockspace}:0:${config.disk}:0`,
        '-o',
        String(config.ioTimeoutSeconds),
      ]);
      for (let index = 1; index <= (options.resources ?? 0); index++) {
        runCli(config, ['direct', 'init', '-r', `${options.lockspace}:R${index}:${config.disk}:${index * MIB}`]);
      }
    }
  }
  writeClusterConfig(config);
  const all = Array.from({ length: config.hosts }, (_, index) => hostPaths(dir, hostName(index + 1)));
  await Promise.all(
    all.map(async (paths) => {
      mkdirSync(paths.dir, { recursive: true });
      await startDevice(config, paths);
      await bootHost(config, paths);
    }),
  );
  return config;
}

export async function stopCluster(dir: string): Promise<void> {
  const config = readClusterConfig(resolve(dir));
  for (let index = 1; index <= config.hosts; index++) {
    const paths = hostPaths(config.dir, hostName(index));
    await powerOff(paths).catch(() => undefined);
    await stopDevice(paths);
    for (const socket of [paths.socket, paths.companionSocket, paths.deviceSocket, paths.deviceControl])
      rmSync(socket, { force: true });
  }
}

/** SIGSTOP (freeze) or SIGCONT (thaw) the host's processes, or one of them. */
export function freezeHost(dir: string, host: string, target: Target, freeze: boolean): number[] {
  const config = readClusterConfig(resolve(dir));
  const pids = targetPids(requireHost(config, host), target);
  for (const pid of pids) signal(pid, freeze ? 'SIGSTOP' : 'SIGCONT');
  return pids;
}

/** SIGKILL the daemon or the companion; or the whole host (power loss: its device is reset too). */
export async function crashHost(dir: string, host: string, target: Target): Promise<number[]> {
  const config = readClusterConfig(resolve(dir));
  const paths = requireHost(config, host);
  const pids = targetPids(paths, target);
  if (target === 'host') {
    await powerOff(paths);
    return pids;
  }
  signal(pids[0]!, 'SIGKILL');
  while (isRunning(pids[0]!)) await sleep(POLL_MS / 5);
  return pids;
}

/** Boots the host again (powering it off first if it runs), or (re)starts its daemon or companion. */
export async function restartHost(dir: string, host: string, target: Target): Promise<void> {
  const config = readClusterConfig(resolve(dir));
  const paths = requireHost(config, host);
  await startDevice(config, paths);
  if (target === 'host') {
    await powerOff(paths);
    await bootHost(config, paths);
    return;
  }
  const running = findRole(paths, target);
  if (running !== undefined) {
    signal(running, 'SIGKILL');
    while (isRunning(running)) await sleep(POLL_MS / 5);
  }
  await startRole(config, paths, target);
}

export interface HostStatus {
  name: string;
  up: boolean;
  initPid: number | null;
  daemonPid: number | null;
  companionPid: number | null;
  socket: string;
  device: EmulatedWatchdogStatus | null;
}

export async function clusterStatus(dir: string): Promise<{ config: ClusterConfig; hosts: HostStatus[] }> {
  const config = readClusterConfig(resolve(dir));
  const hosts: HostStatus[] = [];
  for (let index = 1; index <= config.hosts; index++) {
    const paths = hostPaths(config.dir, hostName(index));
    const record = runningHost(paths.hostFile);
    const device =
      devicePid(paths) === undefined
        ? null
        : ((await deviceControl(paths, 'status').catch(() => undefined))?.status ?? null);
    hosts.push({
      name: paths.name,
      up: record !== undefined,
      initPid: record?.initPid ?? null,
      daemonPid: findRole(paths, 'daemon') ?? null,
      companionPid: findRole(paths, 'companion') ?? null,
      socket: paths.socket,
      device,
    });
  }
  return { config, hosts };
}
