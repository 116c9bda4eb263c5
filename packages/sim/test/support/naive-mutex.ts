import type { OwnershipTracker, HostContext, HostProgram } from '@leasehold/sim';

const SECTOR_BYTES = 512;
const HOLD_SECONDS = 1;

/**
 * A stand-in "lease" with the classic read-then-write race: read the lock sector, and if it is
 * free write our name and consider the lock ours. No re-read, no delay. Used to show the simulator
 * finds such races; it is not how leasehold works.
 */
export function naiveMutex(tracker: OwnershipTracker, rounds: number): HostProgram {
  return async (context: HostContext): Promise<void> => {
    const disk = context.disk();
    const now = (): number => context.clock.toGlobalSeconds(context.clock.nowSeconds());
    for (let round = 0; round < rounds; round++) {
      const current = await disk.read(0, SECTOR_BYTES);
      if (current.every((byte) => byte === 0)) {
        const mine = new Uint8Array(SECTOR_BYTES).fill(context.machine.charCodeAt(1));
        await disk.write(0, mine);
        tracker.begin('lock', context.label, 'exclusive', now(), Infinity);
        await context.clock.sleep(HOLD_SECONDS);
        tracker.end('lock', context.label, now(), 'released');
        await disk.write(0, new Uint8Array(SECTOR_BYTES));
      }
      await context.clock.sleep(context.random.uniform(0, HOLD_SECONDS));
    }
  };
}
