/**
 * A command worker: a Node process started ahead of time by `leasehold command-server`, with Node
 * booted and the CLI's dispatch loaded, that waits for one command from `leasehold-fast` and then
 * becomes that command: the front end's argv, environment, working directory, umask, stdin,
 * stdout and stderr. It runs exactly one command, as a process of its own (its locks are its own,
 * and die with it), and exits with the command's status, which goes back to the front end.
 *
 * fd 3 is the IPC channel to the server, fd 4 the listening socket (shared by the idle workers; the
 * kernel hands each connection to one of them). Nothing may touch process.stdout/stderr before the
 * command's fds are in place: Node builds those streams on first use, for whatever fd 1 and 2 are.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { commandAccept, dup2, type AcceptedCommand } from '@leasehold/native';
import { loadBundle, runLoadedBundle, saveCodeCacheAtExit } from '../bundle-runner.js';
import { COMMANDS } from '../command-registry.js';
import { cliArgs, pickRoute, routeKey } from '../dispatch.js';
import {
  MalformedRequest,
  parseRequest,
  refusedReply,
  REFUSED_REASON,
  SERVED_ROUTE_KEYS,
  statusReply,
} from './protocol.js';
import { attachStreamListeners, prerunBundle, type PreparedCommand } from './prerun.js';
import type { WorkerMessage } from './worker-messages.js';

const LISTEN_FD = 4;
const STDIO_FDS = 3;
/**
 * Bundles compiled and run ahead (prerun.ts) before the worker says it is ready (4-16 ms of
 * compile and 4-6 ms of top level each on the command's path otherwise): the commands scripts run
 * in loops. Each one lengthens the worker's boot, which a stream of commands waits for once the
 * idle workers are used up, so the list is short; others compile when they come.
 */
const PRELOADED_ROUTE_KEYS: readonly string[] = ['lvs', 'vgs', 'lvchange', 'lvcreate', 'lvremove', 'activate'];

/**
 * A worker boots (Node, then the preloads: 150-250 ms of CPU) while the command that made the server
 * start it still runs, so the server starts it niced (server.ts, as root only: undoing a nice
 * needs privilege); booted, it takes the server's priority back before it waits for a command.
 */
function restorePriority(): void {
  if (process.getuid?.() !== 0) return;
  try {
    setPriority(getPriority(process.ppid));
  } catch {
    // the server is gone: its default
    setPriority(0);
  }
}

/** Node's own modules the bundles require: compiled on first require, 2-3 ms on the command's path. */
const PRELOADED_BUILTINS: readonly string[] = [
  'node:assert',
  'node:fs/promises',
  'node:timers/promises',
  'node:util',
  'node:zlib',
];

/** Compiles the preloaded bundles and runs their top levels (prerun.ts); those that trip are dropped. */
function preload(): Map<string, PreparedCommand> {
  const require = createRequire(import.meta.url);
  for (const name of PRELOADED_BUILTINS) require(name);
  const prepared = new Map<string, PreparedCommand>();
  for (const key of PRELOADED_ROUTE_KEYS) {
    const bundle = loadBundle(key);
    const command = bundle === undefined ? undefined : prerunBundle(bundle);
    if (command !== undefined) prepared.set(key, command);
  }
  return prepared;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('a command worker runs only under `leasehold command-server` (no IPC channel)'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error === null ? resolve() : reject(error)));
  });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to give back
  }
}

function drop(accepted: AcceptedCommand, reason: number): void {
  try {
    writeSync(accepted.connFd, refusedReply(reason));
  } catch {
    // the front end went away: it has nothing to run
  }
  for (const fd of accepted.fds) closeQuietly(fd);
  closeQuietly(accepted.connFd);
}

interface Taken {
  accepted: AcceptedCommand;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  umask: number;
  args: string[];
  key: string;
}

/** Blocks until a command this worker runs arrives; refuses (and waits again for) any other. */
function takeCommand(): Taken {
  for (;;) {
    const accepted = commandAccept(LISTEN_FD);
    let request;
    try {
      request = parseRequest(accepted.payload);
    } catch (error: unknown) {
      if (!(error instanceof MalformedRequest)) throw error;
      drop(accepted, REFUSED_REASON.malformed);
      continue;
    }
    // argv[0] goes where the script path was: a front end linked as `lvs` is the lvs command.
    const args = cliArgs(COMMANDS, ['node', ...request.argv], undefined);
    const key = routeKey(pickRoute(COMMANDS, args));
    if (!SERVED_ROUTE_KEYS.has(key)) {
      drop(accepted, REFUSED_REASON.command);
      continue;
    }
    return { accepted, ...request, args, key };
  }
}

/** The front end hung up (Ctrl-C, killed): the command ends as it would have with it. */
function watchFrontEnd(connFd: number): void {
  const watcher = new Socket({ fd: connFd, readable: true, writable: false });
  const hangUp = (): void => {
    process.kill(process.pid, 'SIGTERM');
  };
  watcher.on('end', hangUp);
  watcher.on('error', hangUp);
  watcher.resume();
  watcher.unref();
}

function become(taken: Taken): void {
  closeQuietly(LISTEN_FD);
  for (let fd = 0; fd < STDIO_FDS; fd++) {
    const received = taken.accepted.fds[fd] ?? fd;
    dup2(received, fd);
    closeQuietly(received);
  }
  process.umask(taken.umask);
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, taken.env);
  process.argv = [process.execPath, ...taken.argv];
  const { connFd } = taken.accepted;
  const devNull = openSync('/dev/null', 'r+');
  process.on('exit', (code) => {
    // Output is written by now (stdout and stderr are synchronous on Linux). Let go of the front
    // end's stdio first: a reader of its pipes (`$(lvs)`) sees EOF now, not after Node's teardown.
    for (let fd = 0; fd < STDIO_FDS; fd++) dup2(devNull, fd);
    try {
      writeSync(connFd, statusReply(code));
    } catch {
      // the front end is gone; nobody waits for the status
    }
  });
  watchFrontEnd(connFd);
  process.chdir(taken.cwd);
}

async function main(): Promise<void> {
  const prepared = preload();
  restorePriority();
  await send({ type: 'ready', pid: process.pid, prepared: [...prepared.keys()] });
  const taken = takeCommand();
  // Not awaited: the command starts at once, and the channel closes once the message is out (an
  // open channel would keep the worker alive after its command).
  send({ type: 'busy', pid: process.pid, command: taken.key, frontEndPid: taken.accepted.pid }).then(
    () => process.disconnect(),
    () => process.disconnect(),
  );
  try {
    become(taken);
  } catch (error: unknown) {
    process.stderr.write(`leasehold: cannot take the command over: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const command = prepared.get(taken.key);
  prepared.clear();
  if (command !== undefined) {
    attachStreamListeners(command);
    saveCodeCacheAtExit(command.bundle);
    await command.main(taken.args);
    return;
  }
  const bundle = loadBundle(taken.key);
  if (bundle === undefined || !(await runLoadedBundle(bundle, taken.args))) {
    // No fresh bundle (a checkout after tsc without the bundler): the CLI from dist/, as the launcher falls back.
    await import('../main.js');
  }
}

await main();
