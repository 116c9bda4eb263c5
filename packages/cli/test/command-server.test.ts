/**
 * leasehold-fast and `leasehold command-server`: a command handed to a warm worker behaves as the
 * same command run by Node itself (output, errors, exit status, working directory, environment,
 * umask, the name it was linked as), a front end that dies takes its command with it, and the front
 * end runs the command itself wherever the server cannot or will not (no server, another user, a
 * long-running command, a malformed request).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './run-cli.js';

const FAST_PATH = fileURLToPath(new URL('../../native/build/Release/leasehold-fast', import.meta.url));
const MANIFEST_PATH = fileURLToPath(new URL('../bundle/manifest.json', import.meta.url));
const MIB = 1024 * 1024;
const WAIT_TIMEOUT_MS = 20_000;
const POLL_MS = 50;
const TEST_TIMEOUT_MS = 60_000;

interface LogLine {
  msg: string;
  prepared?: string[];
  worker?: number;
  command?: string;
  frontEndPid?: number;
  exitStatus?: number | null;
  signal?: string | null;
}

interface Server {
  child: ChildProcess;
  socket: string;
  logs: LogLine[];
  stderr: () => string;
}

let work: string;
let server: Server;
let env: NodeJS.ProcessEnv;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server's worker processes (its children), from /proc. */
function childrenOf(pid: number): number[] {
  const result = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map(Number)
    .sort((a, b) => a - b);
}

async function startServer(socket: string, extraArgs: string[] = []): Promise<Server> {
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'command-server', '--socket', socket, '--log-level', 'debug', '--log-format', 'json', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: LogLine[] = [];
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (;;) {
      const end = text.indexOf('\n');
      if (end < 0) break;
      const line = text.slice(0, end);
      text = text.slice(end + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const started: Server = { child, socket, logs, stderr: () => logs.map((l) => JSON.stringify(l)).join('\n') };
  await waitFor('the command server to listen', () =>
    logs.some((l) => l.msg === 'command server listening') ? true : undefined,
  );
  // Both idle workers booted: they are its children until one takes a command.
  await waitFor('two idle workers', () => (childrenOf(child.pid ?? -1).length >= 2 ? true : undefined));
  return started;
}

interface FastResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs the front end (through `sh -c` when a shell line is given, for umask and cwd). */
function runFast(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; program?: string; shellPrefix?: string } = {},
): Promise<FastResult> {
  const program = options.program ?? FAST_PATH;
  const child =
    options.shellPrefix === undefined
      ? spawn(program, args, { env: options.env ?? env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `${options.shellPrefix}; exec "$0" "$@"`, program, ...args], {
          env: options.env ?? env,
          cwd: options.cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr, pid: child.pid ?? -1 }));
  });
}

/** The worker that took the front end `pid`'s command, from the server's log. */
function takenBy(pid: number): LogLine | undefined {
  return server.logs.find((l) => l.msg === 'worker took a command' && l.frontEndPid === pid);
}

beforeAll(async () => {
  expect(existsSync(FAST_PATH), `${FAST_PATH} is built by npm ci (node-gyp)`).toBe(true);
  work = mkdtempSync(join(tmpdir(), 'leasehold-command-server-'));
  mkdirSync(join(work, 'lock'));
  const image = join(work, 'pv.img');
  writeFileSync(image, Buffer.alloc(0));
  spawnSync('truncate', ['-s', String(64 * MIB), image]);
  writeFileSync(join(work, 'leasehold.conf'), `devices = ${image}\nlocking_dir = ${join(work, 'lock')}\n`);
  env = {
    ...process.env,
    LEASEHOLD_CONFIG: join(work, 'leasehold.conf'),
    LEASEHOLD_COMMAND_SOCKET: join(work, 'c.sock'),
  };
  for (const args of [
    ['pvcreate', image],
    ['vgcreate', 'fastvg', image],
  ]) {
    const result = runCli(args, env);
    expect(result.status, result.stderr).toBe(0);
  }
  server = await startServer(join(work, 'c.sock'));
}, TEST_TIMEOUT_MS);

afterAll(() => {
  server?.child.kill('SIGKILL');
  for (const pid of childrenOf(server?.child.pid ?? -1)) process.kill(pid, 'SIGKILL');
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('leasehold-fast through a command server', () => {
  it(
    'runs a command in a warm worker and prints what Node prints, with its exit status',
    async () => {
      for (const args of [['--version'], ['vgs', 'fastvg'], ['lvs', 'nosuchvg'], ['lvs', '--nosuchflag']]) {
        const fast = await runFast(args);
        const node = runCli(args, env);
        const what = args.join(' ');
        expect(fast.stdout, what).toBe(node.stdout);
        expect(fast.stderr, what).toBe(node.stderr);
        expect(fast.status, what).toBe(node.status);
        // Served, not run by the fallback: a worker of the server took it from this front end.
        const taken = await waitFor(`the log of ${what}`, () => takenBy(fast.pid));
        expect(taken.worker).toBeGreaterThan(0);
        expect(taken.worker).not.toBe(fast.pid);
      }
      // The workers ran the commands scripts loop on ahead, none dropped by prerun.ts's tripwires.
      const ready = server.logs.filter((l) => l.msg === 'worker ready');
      expect(ready.length).toBeGreaterThanOrEqual(2);
      for (const line of ready)
        expect([...(line.prepared ?? [])].sort()).toEqual([
          'activate',
          'lvchange',
          'lvcreate',
          'lvremove',
          'lvs',
          'vgs',
        ]);
      expect(runCli(['lvs', 'nosuchvg'], env).status).toBe(5);
      expect(runCli(['lvs', '--nosuchflag'], env).status).toBe(3);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "gives the command the front end's working directory, environment and umask",
    async () => {
      const cwd = join(work, 'cwd');
      mkdirSync(cwd);
      // A relative path (cwd), the VG found through LEASEHOLD_CONFIG (environment), and the mode of
      // the directory vgcfgbackup creates for its file (umask; the file itself is always 0600).
      for (const [mask, mode] of [
        ['077', 0o700],
        ['022', 0o755],
      ] as const) {
        const dir = `backups-${mask}`;
        const fast = await runFast(['vgcfgbackup', '-f', `${dir}/fastvg.vg`, 'fastvg'], {
          cwd,
          shellPrefix: `umask ${mask}`,
        });
        expect(fast.status, fast.stderr).toBe(0);
        expect(takenBy(fast.pid)?.command).toBe('vgcfgbackup');
        expect(readFileSync(join(cwd, dir, 'fastvg.vg'), 'utf8')).toMatch(/^fastvg \{/m);
        expect(statSync(join(cwd, dir)).mode & 0o777).toBe(mode);
      }
      const otherEnv = { ...env, LEASEHOLD_CONFIG: join(work, 'no-such.conf') };
      const without = await runFast(['vgs', 'fastvg'], { env: otherEnv });
      const node = runCli(['vgs', 'fastvg'], otherEnv);
      expect(without.status).not.toBe(0);
      expect([without.status, without.stdout, without.stderr]).toEqual([node.status, node.stdout, node.stderr]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is the command it is linked as (lvs -> leasehold-fast)',
    async () => {
      const link = join(work, 'lvs');
      symlinkSync(FAST_PATH, link);
      const fast = await runFast(['--noheadings', '-o', 'vg_name', 'fastvg'], { program: link });
      const node = runCli(['lvs', '--noheadings', '-o', 'vg_name', 'fastvg'], env);
      expect(fast.stdout).toBe(node.stdout);
      expect(fast.status).toBe(node.status);
      expect(takenBy(fast.pid)?.command).toBe('lvs');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'ends the command when its front end dies, and releases what the command held',
    async () => {
      // Another holder of the VG's file lock (lvm's flock, polled) makes an lvcreate wait.
      const holder = spawn('flock', [join(work, 'lock', 'V_fastvg'), 'sleep', '60'], { stdio: 'ignore' });
      try {
        await waitFor('the flock holder', () => (existsSync(join(work, 'lock', 'V_fastvg')) ? true : undefined));
        await sleep(200);
        const front = spawn(FAST_PATH, ['lvcreate', '-an', '-Zn', '-n', 'waiter', '-l', '1', 'fastvg'], {
          env,
          stdio: 'ignore',
        });
        const taken = await waitFor('a worker to take lvcreate', () => takenBy(front.pid ?? -1));
        const worker = taken.worker ?? -1;
        await sleep(300);
        expect(isAlive(worker), 'the worker waits for the lock').toBe(true);
        front.kill('SIGKILL');
        await waitFor('the worker to end with its front end', () => (isAlive(worker) ? undefined : true));
        const done = await waitFor('the log of its end', () =>
          server.logs.find((l) => l.msg === 'command done' && l.worker === worker),
        );
        expect(done.signal).toBe('SIGTERM');
      } finally {
        holder.kill('SIGKILL');
      }
      // Nothing was created, and the server serves the next command.
      const next = await runFast(['lvs', '--noheadings', '-o', 'lv_name', 'fastvg']);
      expect(next.status, next.stderr).toBe(0);
      expect(next.stdout.trim()).toBe('');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'runs the command itself without a server, for another user, and for long-running commands',
    async () => {
      // LEASEHOLD_NODE=echo shows what the front end would exec: node's argv0, the CLI, the arguments.
      const echo = { LEASEHOLD_NODE: 'echo' };
      const noServer = await runFast(['--version'], {
        env: { ...env, ...echo, LEASEHOLD_COMMAND_SOCKET: join(work, 'nobody-here.sock') },
      });
      expect(noServer.stdout).toBe(`${CLI_PATH} --version\n`);
      const realNoServer = await runFast(['--version'], {
        env: { ...env, LEASEHOLD_COMMAND_SOCKET: join(work, 'nobody-here.sock') },
      });
      expect(realNoServer.stdout).toBe(runCli(['--version']).stdout);
      const off = await runFast(['--version'], { env: { ...env, ...echo, LEASEHOLD_NO_COMMAND_SERVER: '1' } });
      expect(off.stdout).toBe(`${CLI_PATH} --version\n`);

      // Long-running commands are processes of their own: refused, run by the front end.
      const daemonHelp = await runFast(['daemon', '--help'], { env: { ...env, ...echo } });
      expect(daemonHelp.stdout).toBe(`${CLI_PATH} daemon --help\n`);
      expect(takenBy(daemonHelp.pid)).toBeUndefined();

      // Another uid is refused by the worker (SO_PEERCRED) and runs it itself, as that user. The
      // socket is opened to everyone for this: its 0600 alone would refuse the connection first.
      const copy = join(work, 'leasehold-fast');
      writeFileSync(copy, readFileSync(FAST_PATH), { mode: 0o755 });
      chmodSync(work, 0o755);
      chmodSync(server.socket, 0o666);
      let other: FastResult;
      let refusal: FastResult;
      const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
      try {
        other = await runFast([...asNobody, copy, '--version'], {
          program: 'setpriv',
          env: { ...env, ...echo, LEASEHOLD_CLI_JS: CLI_PATH },
        });
        // What the worker answers that user: "LHCR" and reason 1 (another uid), before reading anything.
        const probe = `import socket; s = socket.socket(socket.AF_UNIX); s.connect(${JSON.stringify(server.socket)}); print(s.recv(8).hex())`;
        refusal = await runFast([...asNobody, '/usr/bin/python3', '-c', probe], { program: 'setpriv' });
      } finally {
        chmodSync(server.socket, 0o600);
      }
      expect(other.stdout).toBe(`${CLI_PATH} --version\n`);
      expect(refusal.stdout.trim(), refusal.stderr).toBe(`${Buffer.from('LHCR').toString('hex')}01000000`);
      expect(takenBy(other.pid)).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a malformed request and keeps serving',
    async () => {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect(server.socket);
        const chunks: Buffer[] = [];
        socket.on('connect', () => socket.write(Buffer.from('GET / HTTP/1.0\r\n\r\n')));
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks)));
        socket.on('error', reject);
      });
      expect(reply.subarray(0, 4).toString('latin1')).toBe('LHCR');
      expect(reply.readUInt32LE(4)).toBe(2);
      const next = await runFast(['--version']);
      expect(next.status).toBe(0);
      expect(takenBy(next.pid)).toBeDefined();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'replaces idle workers when the bundles are rebuilt, refuses a second server, and stops cleanly',
    async () => {
      const before = childrenOf(server.child.pid ?? -1);
      expect(before.length).toBeGreaterThanOrEqual(2);
      const now = new Date();
      utimesSync(MANIFEST_PATH, now, now);
      await waitFor('fresh workers', () => {
        const after = childrenOf(server.child.pid ?? -1);
        return after.length >= 2 && after.every((pid) => !before.includes(pid)) ? true : undefined;
      });

      const second = runCli(['command-server', '--socket', server.socket], env);
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/COMMAND_SERVER_RUNNING/);

      const workers = childrenOf(server.child.pid ?? -1);
      server.child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) =>
        server.child.once('exit', (status) => resolve(status)),
      );
      expect(code).toBe(0);
      expect(existsSync(server.socket)).toBe(false);
      for (const pid of workers) await waitFor(`worker ${pid} to stop`, () => (isAlive(pid) ? undefined : true));
    },
    TEST_TIMEOUT_MS,
  );
});
