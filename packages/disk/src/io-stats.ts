import type { Disk } from './disk.js';

/** Counts of I/O through a disk wrapper. Bytes count only data that was transferred. */
export interface IoStats {
  readOps: number;
  writeOps: number;
  /** Operations that ended in an error (any code, including EALIGN and injected faults). */
  failedOps: number;
  bytesRead: number;
  /** Bytes that reached the disk: a torn write counts only its landed prefix. */
  bytesWritten: number;
}

export function emptyIoStats(): IoStats {
  return { readOps: 0, writeOps: 0, failedOps: 0, bytesRead: 0, bytesWritten: 0 };
}

/** Passes I/O through to `inner` and counts it. */
export class CountingDisk implements Disk {
  private counts = emptyIoStats();

  constructor(private readonly inner: Disk) {}

  get path(): string {
    return this.inner.path;
  }
  get sectorSize(): number {
    return this.inner.sectorSize;
  }
  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    this.counts.readOps++;
    try {
      const data = await this.inner.read(offsetBytes, lengthBytes);
      this.counts.bytesRead += data.byteLength;
      return data;
    } catch (error) {
      this.counts.failedOps++;
      throw error;
    }
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    this.counts.writeOps++;
    try {
      await this.inner.write(offsetBytes, data);
      this.counts.bytesWritten += data.byteLength;
    } catch (error) {
      this.counts.failedOps++;
      throw error;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** A copy of the counts so far. */
  stats(): IoStats {
    return { ...this.counts };
  }

  resetStats(): void {
    this.counts = emptyIoStats();
  }
}
