/**
 * Where a test cluster keeps things. DIR/cluster.json describes the cluster; each host K has its
 * directory DIR/hostK with its sockets, state, logs, fault switches and its device's event log.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WatchdogError } from '../../errors.js';

export const CLUSTER_FILE = 'cluster.json';
export const CLUSTER_FORMAT_VERSION = 1;
/** Host names are host1, host2, ... */
export const HOST_NAME_PATTERN = /^host([1-9]\d*)$/;

export interface ClusterConfig {
  version: number;
  dir: string;
  hosts: number;
  disk: string;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  /** The node binary and the leasehold CLI every host runs. */
  nodePath: string;
  cliPath: string;
  createdAt: string;
  /** Extra leasehold.conf settings of every daemon (e.g. activation_backend); absent: no config file. */
  daemonSettings?: Record<string, string>;
}

export interface HostPaths {
  name: string;
  dir: string;
  /** The daemon's socket (LEASEHOLD_SOCKET inside the host). */
  socket: string;
  companionSocket: string;
  deviceSocket: string;
  deviceControl: string;
  deviceEvents: string;
  deviceLog: string;
  /** The running host's init pid and pid namespace (see device/host-file.ts). */
  hostFile: string;
  stateDir: string;
  faultDir: string;
  daemonLog: string;
  companionLog: string;
  initLog: string;
  /** The daemon's leasehold.conf (written at boot when the cluster has daemon settings). */
  daemonConfig: string;
  /** The host's own `/dev` for activated LVs (device_dir): emulated hosts share the machine's /dev. */
  deviceDir: string;
}

export function hostName(index: number): string {
  return `host${index}`;
}

export function hostPaths(dir: string, name: string): HostPaths {
  const hostDir = join(dir, name);
  return {
    name,
    dir: hostDir,
    socket: join(hostDir, 'leasehold.sock'),
    companionSocket: join(hostDir, 'watchdog.sock'),
    deviceSocket: join(hostDir, 'watchdog-device.sock'),
    deviceControl: join(hostDir, 'watchdog-device-control.sock'),
    deviceEvents: join(hostDir, 'watchdog-device-events.jsonl'),
    deviceLog: join(hostDir, 'watchdog-device.log'),
    hostFile: join(hostDir, 'host.json'),
    stateDir: join(hostDir, 'state'),
    faultDir: join(hostDir, 'faults'),
    daemonLog: join(hostDir, 'daemon.log'),
    companionLog: join(hostDir, 'companion.log'),
    initLog: join(hostDir, 'init.log'),
    daemonConfig: join(hostDir, 'leasehold.conf'),
    deviceDir: join(hostDir, 'dev'),
  };
}

export function readClusterConfig(dir: string): ClusterConfig {
  let value: ClusterConfig;
  try {
    value = JSON.parse(readFileSync(join(dir, CLUSTER_FILE), 'utf8')) as ClusterConfig;
  } catch (error) {
    throw new WatchdogError(
      'CLUSTER_ERROR',
      `no test cluster in ${dir} (${(error as Error).message}); start one with \`leasehold testing cluster start --dir ${dir} --hosts N\``,
    );
  }
  if (value.version !== CLUSTER_FORMAT_VERSION)
    throw new WatchdogError(
      'CLUSTER_ERROR',
      `${join(dir, CLUSTER_FILE)} has format ${value.version}, expected ${CLUSTER_FORMAT_VERSION}`,
    );
  return value;
}

export function writeClusterConfig(config: ClusterConfig): void {
  const path = join(config.dir, CLUSTER_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(config, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** The paths of host `name` (e.g. "host2"), checked against the cluster's size. */
export function requireHost(config: ClusterConfig, name: string): HostPaths {
  const match = HOST_NAME_PATTERN.exec(name);
  if (match === null || Number(match[1]) > config.hosts) {
    throw new WatchdogError(
      'NO_SUCH_HOST',
      `no host "${name}" in the cluster at ${config.dir} (hosts: host1..host${config.hosts})`,
    );
  }
  return hostPaths(config.dir, name);
}
