/**
 * No lease without fencing: a lockspace becomes usable only once the watchdog companion has
 * confirmed its registration. A companion that takes the connection but refuses the registration
 * (here a fake one: it answers hello, then refuses every `set`) makes the start fail with
 * WATCHDOG_UNAVAILABLE, and the delta lease is given back on disk.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError } from '@leasehold/client';
import { COMPANION_PROTOCOL_VERSION } from '@leasehold/protocol/companion';
import { runCli, TEST_W, TestDaemon, TestDir } from './support/harness.js';

let dir: TestDir;
let companion: Server;
const received: Array<{ op: string; lockspace?: string }> = [];

/** Answers hello as a companion with the daemon's W would, and refuses every registration. */
function refusingCompanion(socketPath: string): Promise<Server> {
  const server = createServer((socket: Socket) => {
    let buffered = '';
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const request = JSON.parse(buffered.slice(0, newline)) as { id: number; op: string; lockspace?: string };
        buffered = buffered.slice(newline + 1);
        received.push({ op: request.op, ...(request.lockspace === undefined ? {} : { lockspace: request.lockspace }) });
        const reply =
          request.op === 'hello'
            ? {
                id: request.id,
                ok: true,
                result: {
                  version: COMPANION_PROTOCOL_VERSION,
                  fireTimeoutSeconds: TEST_W,
                  intervalSeconds: 1,
                  device: 'fake',
                },
              }
            : request.op === 'set'
              ? {
                  id: request.id,
                  ok: false,
                  error: { code: 'TOO_MANY_REGISTRATIONS', message: 'the registration table is full' },
                }
              : { id: request.id, ok: true };
        socket.write(JSON.stringify(reply) + '\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

beforeAll(async () => {
  dir = new TestDir();
  companion = await refusingCompanion(dir.file('watchdog.sock'));
});

afterAll(async () => {
  await new Promise((resolve) => companion?.close(resolve));
  dir?.cleanup();
});

describe('watchdog registration', () => {
  it('a lockspace whose registration the companion refuses does not start, and its host_id is released', async () => {
    const image = dir.image('ack.img', 'WA', 1);
    const daemon = await new TestDaemon(dir, { name: 'ack', watchdogSocket: dir.file('watchdog.sock') }).start();
    try {
      const failure = await daemon.lockstart('WA', 1, image).catch((error: unknown) => error);
      expect(isLeaseholdError(failure, 'WATCHDOG_UNAVAILABLE')).toBe(true);
      expect(String((failure as Error).message)).toContain('TOO_MANY_REGISTRATIONS');
      expect(received.filter((request) => request.lockspace === 'WA').map((request) => request.op)).toEqual([
        'set',
        'remove',
      ]);
      // On disk: host_id 1 was acquired (generation 1) and released again (timestamp 0).
      const leader = runCli(['direct', 'read-leader', '-s', `WA:1:${image}:0`]);
      expect(leader.status).toBe(0);
      expect(leader.stdout).toMatch(/^owner_id 1$/m);
      expect(leader.stdout).toMatch(/^owner_generation 1$/m);
      expect(leader.stdout).toMatch(/^timestamp 0$/m);
      const status = await daemon.with((client) => client.status());
      expect(status.leases).toHaveLength(0);
      expect(JSON.stringify(status.lockspaces)).not.toContain('"joined"');
    } finally {
      await daemon.kill();
    }
  }, 60_000);
});
