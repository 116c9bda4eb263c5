/** Small measuring helpers shared by the benchmarks (run with tsx). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../../packages/cli/bin/leasehold.js', import.meta.url));

export interface ProcIo {
  readBytes: number;
  writeBytes: number;
  syscr: number;
  syscw: number;
}

/** Bytes the process made the block layer read and write (O_DIRECT I/O counts here, aio too). */
export function procIo(pid: number): ProcIo {
  const fields = new Map<string, number>();
  for (const line of readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n')) {
    const [key, value] = line.split(': ');
    if (key !== undefined && value !== undefined) fields.set(key, Number(value));
  }
  return {
    readBytes: fields.get('read_bytes') ?? 0,
    writeBytes: fields.get('write_bytes') ?? 0,
    syscr: fields.get('syscr') ?? 0,
    syscw: fields.get('syscw') ?? 0,
  };
}

export function diffIo(after: ProcIo, before: ProcIo): ProcIo {
  return {
    readBytes: after.readBytes - before.readBytes,
    writeBytes: after.writeBytes - before.writeBytes,
    syscr: after.syscr - before.syscr,
    syscw: after.syscw - before.syscw,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Spawns the leasehold CLI and resolves when a stdout line matches `ready` (or rejects on exit). */
export function spawnCliUntil(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; seconds: number }> {
  const started = nowSeconds();
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (ready.test(out)) resolve({ child, seconds: nowSeconds() - started });
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('exit', (code) => reject(new Error(`leasehold ${args.join(' ')} exited ${code}: ${out}${err}`)));
  });
}

export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function ratio(ours: number, theirs: number): string {
  return theirs === 0 ? 'inf' : (ours / theirs).toFixed(3);
}

/** The C front end (packages/native, built by node-gyp): hands commands to a command server's workers. */
export const FAST_PATH = fileURLToPath(
  new URL('../../../packages/native/build/Release/leasehold-fast', import.meta.url),
);

/**
 * NODE_EXTRA_CA_CERTS makes every Node process parse that certificate file at start (see volume.ts);
 * the benches run leasehold's commands without it unless BENCH_KEEP_NODE_ENV=1, and say which.
 */
export const KEEP_NODE_ENV = process.env.BENCH_KEEP_NODE_ENV === '1';
export const CA_CERTS_STATE: 'unset' | 'kept' | 'removed' =
  process.env.NODE_EXTRA_CA_CERTS === undefined ? 'unset' : KEEP_NODE_ENV ? 'kept' : 'removed';

/** process.env with `extra` over it, NODE_EXTRA_CA_CERTS removed unless kept. */
export function benchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!KEEP_NODE_ENV) delete merged.NODE_EXTRA_CA_CERTS;
  return merged;
}

/** Runs `program args` to completion; wall seconds. Throws, with its output, unless it exits 0. */
export function timedRun(program: string, args: string[], env: NodeJS.ProcessEnv): number {
  const started = nowSeconds();
  const result = spawnSync(program, args, { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
  return nowSeconds() - started;
}

const COMMAND_SERVER_WAIT_TRIES = 100;
const COMMAND_SERVER_WAIT_MS = 100;
/** Boot time of the server's idle workers after the socket appears (they boot in parallel). */
const COMMAND_WORKERS_BOOT_MS = 1500;

/**
 * Starts `leasehold command-server` on `socketPath` and resolves once its workers have booted;
 * commands then run through FAST_PATH with LEASEHOLD_COMMAND_SOCKET=socketPath.
 */
export async function startCommandServer(socketPath: string, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI_PATH, 'command-server', '--socket', socketPath, '--log-level', 'warn'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  for (let i = 0; i < COMMAND_SERVER_WAIT_TRIES; i++) {
    if (child.exitCode !== null) throw new Error(`leasehold command-server exited ${child.exitCode}`);
    if (statSync(socketPath, { throwIfNoEntry: false })?.isSocket() === true) break;
    await new Promise((resolve) => setTimeout(resolve, COMMAND_SERVER_WAIT_MS));
  }
  await new Promise((resolve) => setTimeout(resolve, COMMAND_WORKERS_BOOT_MS));
  return child;
}
