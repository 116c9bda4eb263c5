/**
 * The socket survives 100,000 fuzzed messages (fast-check: garbage, huge lines, truncated JSON, wrong
 * types, unknown operations, non-objects, valid requests, clients that disconnect mid-request, waiting
 * acquires abandoned by their client) with error replies and no crash, and no lease is left behind
 * once the fuzzing process is gone.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, TestDaemon, TestDir, waitFor } from './support/harness.js';

const FUZZ_SCRIPT = fileURLToPath(new URL('./support/fuzz-client.mjs', import.meta.url));
const MESSAGES = Number(process.env['LEASEHOLD_FUZZ_MESSAGES'] ?? 100_000);

let dir: TestDir;
let image: string;
let daemon: TestDaemon;

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('fuzz.img', 'FZ', 1);
  daemon = await new TestDaemon(dir, { name: 'fuzz', logLevel: 'warn' }).start();
  await daemon.lockstart('FZ', 1, image);
}, 60_000);

afterAll(async () => {
  await daemon?.kill();
  dir?.cleanup();
});

describe('socket fuzzing', () => {
  it(`survives ${MESSAGES} fuzzed messages with error replies, no crash, no leaked lease`, async () => {
    const child = dir.track(
      spawn(
        process.execPath,
        [
          FUZZ_SCRIPT,
          JSON.stringify({
            socket: daemon.socketPath,
            count: MESSAGES,
            seed: 20261121,
            lockspace: 'FZ',
            path: image,
            offsetBytes: MIB,
          }),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number; counts: Record<string, number> };
    expect(summary.sent).toBe(MESSAGES);
    // Every kind of refusal was exercised and answered.
    for (const code of ['BAD_JSON', 'BAD_REQUEST', 'UNKNOWN_OP', 'MESSAGE_TOO_LARGE', 'ok'])
      expect(summary.counts[code] ?? 0).toBeGreaterThan(0);
    expect(summary.counts['INTERNAL'] ?? 0).toBe(0);
    // The daemon is alive and serving, and nothing is held for the departed fuzzer.
    expect(daemon.process.exitCode).toBeNull();
    await waitFor(
      'no lease left',
      () => daemon.with(async (client) => ((await client.status()).leases.length === 0 ? true : undefined)),
      5000,
    );
    const status = await daemon.with((client) => client.status());
    expect(status.lockspaces[0]!.state).toBe('joined');
    // Still fully working: acquire and release.
    await daemon.with(async (client) => {
      const lease = await client.acquire({ lockspace: 'FZ', resource: 'R1', path: image, offsetBytes: MIB });
      await lease.release();
    });
  }, 240_000);
});
