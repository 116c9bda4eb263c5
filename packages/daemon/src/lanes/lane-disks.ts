/**
 * The devices a lane worker has open: one O_DIRECT descriptor per path, used with synchronous
 * reads and writes (the lease code sees the async Disk interface, settled immediately). A hung
 * device therefore blocks this worker's thread, and only this worker's.
 */
import { asyncFromSync, type Disk, type SyncDisk } from '@leasehold/disk';
import { openDirectDiskSync } from '@leasehold/disk/direct';
import { TestFaultSyncDisk } from './test-faults.js';

export class LaneDisks {
  private readonly open = new Map<string, { sync: SyncDisk; disk: Disk; users: number }>();

  constructor(private readonly testFaultDir: string | undefined) {}

  /** The disk for `path`, opened on first use; pair every acquire with a release. */
  acquire(path: string): Disk {
    let entry = this.open.get(path);
    if (entry === undefined) {
      const direct: SyncDisk = openDirectDiskSync(path);
      const sync = this.testFaultDir === undefined ? direct : new TestFaultSyncDisk(direct, this.testFaultDir);
      entry = { sync, disk: asyncFromSync(sync), users: 0 };
      this.open.set(path, entry);
    }
    entry.users++;
    return entry.disk;
  }

  release(path: string): void {
    const entry = this.open.get(path);
    if (entry === undefined) return;
    entry.users--;
    if (entry.users > 0) return;
    this.open.delete(path);
    try {
      entry.sync.closeSync();
    } catch {
      // closing a descriptor of a failed device may itself fail; nothing more to do
    }
  }
}
