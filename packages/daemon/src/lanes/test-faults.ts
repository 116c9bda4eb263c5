/**
 * Test-only fault injection for lane workers (the daemon's hidden --test-fault-dir option).
 *
 * A file `hang@NAME` in the fault directory makes every I/O on devices whose path ends in NAME block
 * the worker thread synchronously, inside the I/O call, until the file is removed: exactly what a
 * synchronous O_DIRECT read or write on a dead device does (the thread sits in the syscall, its event
 * loop stops). `eio@NAME` makes the I/O fail with EIO instead. Nothing here runs unless the option is
 * given; production I/O goes straight to the device.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DiskError, type SyncDisk } from '@leasehold/disk';

const HANG_POLL_MS = 20;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function blockFor(milliseconds: number): void {
  Atomics.wait(sleeper, 0, 0, milliseconds);
}

export class TestFaultSyncDisk implements SyncDisk {
  private readonly hangFile: string;
  private readonly eioFile: string;

  constructor(
    private readonly inner: SyncDisk,
    faultDir: string,
  ) {
    const name = basename(inner.path);
    this.hangFile = join(faultDir, `hang@${name}`);
    this.eioFile = join(faultDir, `eio@${name}`);
  }

  get path(): string {
    return this.inner.path;
  }
  get sectorSize(): number {
    return this.inner.sectorSize;
  }
  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }

  readSync(offsetBytes: number, lengthBytes: number): Uint8Array {
    this.beforeIo(offsetBytes, lengthBytes);
    return this.inner.readSync(offsetBytes, lengthBytes);
  }

  writeSync(offsetBytes: number, data: Uint8Array): void {
    this.beforeIo(offsetBytes, data.byteLength);
    this.inner.writeSync(offsetBytes, data);
  }

  closeSync(): void {
    this.inner.closeSync();
  }

  private beforeIo(offsetBytes: number, lengthBytes: number): void {
    while (existsSync(this.hangFile)) blockFor(HANG_POLL_MS);
    if (existsSync(this.eioFile))
      throw new DiskError('EIO', 'injected I/O error (test fault)', this.path, offsetBytes, lengthBytes);
  }
}
