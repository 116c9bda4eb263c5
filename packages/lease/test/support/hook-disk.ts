/**
 * A Disk wrapper for tests: records every I/O and lets a test intercept reads and writes (fail them,
 * hold them, or change the disk in between).
 */
import type { Disk } from '@leasehold/disk';

export interface IoRecord {
  kind: 'read' | 'write';
  offsetBytes: number;
  lengthBytes: number;
}

/** Runs before the I/O; throw to fail it, return a promise to hold it. */
export type IoHook = (io: IoRecord) => void | Promise<void>;

export class HookDisk implements Disk {
  readonly log: IoRecord[] = [];
  beforeRead: IoHook | undefined;
  beforeWrite: IoHook | undefined;

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
    const io: IoRecord = { kind: 'read', offsetBytes, lengthBytes };
    this.log.push(io);
    await this.beforeRead?.(io);
    return this.inner.read(offsetBytes, lengthBytes);
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    const io: IoRecord = { kind: 'write', offsetBytes, lengthBytes: data.byteLength };
    this.log.push(io);
    await this.beforeWrite?.(io);
    return this.inner.write(offsetBytes, data);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  writes(): IoRecord[] {
    return this.log.filter((io) => io.kind === 'write');
  }
}
