/**
 * `leasehold direct join` and `direct hosts` as real processes on one image file: two hosts see each
 * other, a third asking for a held host_id fails HOSTID_BUSY, SIGINT releases and exits 0, and the
 * other host sees the slot go FREE.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempImage } from '@leasehold/testkit';
import { runCli, spawnCli } from './run-cli.js';

const IO_TIMEOUT = '1';
const W = '3';
const children: ChildProcess[] = [];
const image = makeTempImage(4 << 20);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  image.cleanup();
});

interface Watched {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<void>;
  exit: Promise<number | null>;
}

function watch(args: string[]): Watched {
  const child = spawnCli(args);
  children.push(child);
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output so far:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, output: () => text, waitFor, exit };
}

const join = (hostId: number, name: string): Watched =>
  watch([
    'direct',
    'join',
    '-s',
    `LS:${hostId}:${image.path}:0`,
    '-o',
    IO_TIMEOUT,
    '--watchdog-fire-timeout',
    W,
    '--name',
    name,
  ]);

describe('direct join / direct hosts', () => {
  it('two hosts, a busy host_id, clean release', async () => {
    expect(runCli(['direct', 'init', '-s', `LS:0:${image.path}:0`, '-o', IO_TIMEOUT]).status).toBe(0);
    const a = join(1, 'host-a');
    const b = join(2, 'host-b');
    await a.waitFor(/joined lockspace LS host 1 gen 1 name host-a/, 15_000);
    await b.waitFor(/joined lockspace LS host 2 gen 1 name host-b/, 15_000);
    await a.waitFor(/host 2 LIVE gen 1 name host-b/, 15_000);
    await b.waitFor(/host 1 LIVE gen 1 name host-a/, 15_000);

    const table = runCli(['direct', 'hosts', '-s', `LS:${image.path}:0`, '--json']);
    expect(table.status).toBe(0);
    const hosts = JSON.parse(table.stdout) as Array<{ hostId: number; name: string; generation: number }>;
    expect(hosts.map((h) => [h.hostId, h.name, h.generation])).toEqual([
      [1, 'host-a', 1],
      [2, 'host-b', 1],
    ]);

    // Host 1 is held and renewed by a live process: another name waits 8N+W, sees it change, gives up.
    const intruder = join(1, 'intruder');
    expect(await intruder.exit).not.toBe(0);
    expect(intruder.output()).toMatch(/HOSTID_BUSY/);

    a.child.kill('SIGINT');
    expect(await a.exit).toBe(0);
    expect(a.output()).toMatch(/released lockspace LS host 1 gen 1/);
    await b.waitFor(/host 1 FREE/, 10_000);
    b.child.kill('SIGTERM');
    expect(await b.exit).toBe(0);
  }, 60_000);
});
