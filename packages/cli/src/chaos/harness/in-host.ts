/** Running commands inside the chaos run's emulated hosts, with a timeout, without blocking the harness. */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { spawnInHost, type ClusterConfig, type HostPaths } from '@leasehold/watchdog';

export interface CommandOutcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The pid (as seen here) of the command nsenter started in the host, once it runs. */
export function inHostPid(nsenter: ChildProcess): number | undefined {
  if (nsenter.pid === undefined) return undefined;
  try {
    const children = readFileSync(`/proc/${nsenter.pid}/task/${nsenter.pid}/children`, 'utf8').trim();
    const child = Number(children.split(/\s+/)[0]);
    return Number.isInteger(child) && child > 0 ? child : undefined;
  } catch {
    return undefined;
  }
}

/** The nsenter processes running commands in each host (by host name). */
const launchers = new Map<string, Set<ChildProcess>>();

export function spawnCommandInHost(
  config: ClusterConfig,
  paths: HostPaths,
  argv: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const child = spawnInHost(config, paths, argv, ['ignore', 'pipe', 'pipe'], env);
  const set = launchers.get(paths.name) ?? new Set<ChildProcess>();
  launchers.set(paths.name, set);
  set.add(child);
  child.once('exit', () => set.delete(child));
  return child;
}

/**
 * nsenter stops itself when the command it waits for is stopped (a host freeze) and nothing in the
 * host continues it afterwards: this does, after a thaw or a reset, so that it reaps its command.
 */
export function continueLaunchers(host: string): void {
  for (const child of launchers.get(host) ?? []) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
}

/** Runs `argv` in the host to its end (SIGKILL after timeoutMs). Never throws for a failed command. */
export function runInHost(
  config: ClusterConfig,
  paths: HostPaths,
  argv: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<CommandOutcome> {
  return new Promise((done) => {
    let child: ChildProcess;
    try {
      child = spawnCommandInHost(config, paths, argv, env);
    } catch (error) {
      done({ status: null, signal: null, stdout: '', stderr: (error as Error).message, timedOut: false });
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      const pid = inHostPid(child);
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      done({ status: null, signal: null, stdout, stderr: stderr + error.message, timedOut });
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      done({ status, signal, stdout, stderr, timedOut });
    });
  });
}
