/**
 * Issue 14: `direct run --wait` says what it waits for (holder host_id, name, mode, liveness) and,
 * when the lease stays held, exits 123 (held by someone else) without running its command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { makeTempImage, type TempImage } from '@leasehold/testkit';
import { runCli, spawnCli } from './run-cli.js';

let image: TempImage;
let holder: ChildProcess | undefined;

beforeAll(() => {
  image = makeTempImage(4 * 1024 * 1024);
  expect(runCli(['direct', 'init', '-s', `LS:0:${image.path}:0`, '-o', '1']).status).toBe(0);
  expect(runCli(['direct', 'init', '-r', `LS:R:${image.path}:1M`]).status).toBe(0);
});
afterAll(() => {
  holder?.kill('SIGKILL');
  image.cleanup();
});

describe('direct run --wait', () => {
  it('names the holder while it waits, then exits 123 without running the command', async () => {
    holder = spawnCli([
      'direct',
      'run',
      '-s',
      `LS:1:${image.path}:0`,
      '-r',
      `LS:R:${image.path}:1M`,
      '-o',
      '1',
      '--watchdog-fire-timeout',
      '10',
      '--name',
      'holder-a',
      '--',
      'sleep',
      '60',
    ]);
    let holderErr = '';
    await new Promise<void>((resolve, reject) => {
      holder?.stderr?.on('data', (data: Buffer) => {
        holderErr += data.toString();
        if (holderErr.includes('acquired LS:R')) resolve();
      });
      holder?.on('exit', () => reject(new Error(`the holder exited: ${holderErr}`)));
    });
    const waiting = runCli([
      'direct',
      'run',
      '-s',
      `LS:2:${image.path}:0`,
      '-r',
      `LS:R:${image.path}:1M`,
      '-o',
      '1',
      '--watchdog-fire-timeout',
      '10',
      '--name',
      'host-b',
      '--wait',
      '3',
      '--',
      'touch',
      `${image.path}.ran`,
    ]);
    expect(waiting.status).toBe(123);
    const lines = waiting.stderr.split('\n').filter((line) => line !== '');
    // Not a terminal: the waiting line once, then the refusal (status lines of the join/leave around them).
    expect(lines.filter((line) => line.startsWith('leasehold: waiting for'))).toEqual([
      expect.stringMatching(
        /^leasehold: waiting for LS:R \(EX\), held by host 1 "holder-a" EX, (LIVE \(renewing\)|UNKNOWN \(not watched long enough to tell\)); waiting up to 3 s$/,
      ),
    ]);
    expect(lines.filter((line) => /^leasehold: [A-Z_]+: /.test(line))).toEqual([
      expect.stringMatching(/^leasehold: LEASE_HELD: .*\(wait for it/),
    ]);
    expect(waiting.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(`${image.path}.ran`)).toBe(false);
  });
});
