/**
 * §8 check 3, last part, the other way round: the sanlock host holding a resource lease dies (its
 * daemon is SIGKILLed, so it stops renewing). leasehold must not take the lease before 8N + W (68 s)
 * after the last renewal it saw, and takes it then. Its own file and daemon, so it runs in parallel
 * with paxos-sanlock-interop.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireLease, isPaxosError } from '@leasehold/lease';
import { makeTempImage, requireSanlock, sanlockDirect, SanlockDaemon, type TempImage } from '@leasehold/testkit';
import {
  delay,
  HOST_DEAD_SECONDS,
  IO_TIMEOUT_SECONDS,
  leaderOf,
  LeaseholdHost,
  realClock,
  RESOURCE_OFFSET,
  SanlockHolder,
} from './paxos-sanlock-support.js';

let image: TempImage;
let daemon: SanlockDaemon;
let lh: LeaseholdHost | undefined;
let holder: SanlockHolder | undefined;

beforeAll(async () => {
  requireSanlock();
  image = makeTempImage(3 << 20);
  sanlockDirect(['init', '-s', `LS:0:${image.path}:0`, '-o', String(IO_TIMEOUT_SECONDS)]);
  sanlockDirect(['init', '-r', `LS:R:${image.path}:${RESOURCE_OFFSET}`]);
  daemon = await SanlockDaemon.start({ hostName: 'sanlock-takeover-1' });
  const added = await daemon.clientAsync([
    'add_lockspace',
    '-o',
    String(IO_TIMEOUT_SECONDS),
    '-s',
    `LS:1:${image.path}:0`,
  ]);
  expect(added.status, added.stdout + added.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  holder?.kill();
  await lh?.leave().catch(() => undefined);
  await daemon?.stop();
  image?.cleanup();
}, 60_000);

it('a dead sanlock holder is taken over only 8N + W after its last renewal we saw', async () => {
  lh = await LeaseholdHost.join(image.path, 2, 'leasehold-takeover-2');
  await delay(3);
  holder = SanlockHolder.start(daemon, image.path);
  expect(await holder.outcome()).toBe('ACQUIRED');
  await daemon.stop(); // SIGKILL: no release, no more renewals
  const killedAtSeconds = realClock.nowSeconds();
  const location = { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET };
  // -243 while our latest sample still shows its last renewal (as sanlock does); then the acquire
  // waits out the deadline.
  let held;
  for (;;) {
    try {
      held = await acquireLease(lh.ctx, location, { waitSeconds: Infinity });
      break;
    } catch (error) {
      if (!isPaxosError(error, 'ACQUIRE_IDLIVE')) throw error;
      await delay(1);
    }
  }
  const lastSeenSeconds = lh.delta.host(1)?.lastLiveSeconds ?? Infinity;
  const now = realClock.nowSeconds();
  expect(now - lastSeenSeconds).toBeGreaterThan(HOST_DEAD_SECONDS);
  // sanlock renews about every 3 s with io_timeout 1: its last renewal was at most that before the kill.
  expect(now - killedAtSeconds).toBeGreaterThan(HOST_DEAD_SECONDS - 3 * IO_TIMEOUT_SECONDS);
  expect(held.lver).toBe(2n);
  expect(leaderOf(image.path)).toMatchObject({ lver: 2n, ownerId: 2n });
}, 240_000);
