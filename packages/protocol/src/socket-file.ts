/**
 * Creating a listening Unix socket file safely: refuse if another server answers on it, remove a stale
 * one, create it with a restrictive umask (no window in which others could connect), then set the
 * mode and the group. Shared by the daemon and the watchdog companion
 * (`@leasehold/protocol/socket-file`).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { DaemonError } from './codes.js';

const PROBE_TIMEOUT_MS = 1000;

/** True when something accepts connections on `path` (or holds it without refusing). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // something holds it and does not refuse: treat it as alive
    }, PROBE_TIMEOUT_MS);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

export async function listenOnSocketFile(
  path: string,
  mode: number,
  gid: number | undefined,
  onConnection: (socket: Socket) => void,
  alreadyServed: (path: string) => Error = (p) => new DaemonError('DAEMON_RUNNING', `another daemon is serving ${p}`),
): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (existsSync(path)) {
    if (await socketAnswers(path)) throw alreadyServed(path);
    unlinkSync(path);
  }
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: false }, onConnection);
  // Nobody but the owner may connect before chmod/chown have run.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previousUmask);
  }
  if (gid !== undefined) chownSync(path, process.getuid?.() ?? 0, gid);
  chmodSync(path, mode);
  return server;
}
