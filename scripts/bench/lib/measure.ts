/** Small measuring helpers shared by the benchmarks (run with tsx). */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
