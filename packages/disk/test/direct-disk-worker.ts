/** Worker-thread body for worker.test.ts: synchronous O_DIRECT I/O off the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { DiskError } from '../src/index.js';
import { openDirectDiskSync } from '../src/direct.js';

const { path, offsetBytes, fill } = workerData as { path: string; offsetBytes: number; fill: number };
try {
  const disk = openDirectDiskSync(path);
  disk.writeSync(offsetBytes, new Uint8Array(disk.sectorSize).fill(fill));
  const back = disk.readSync(offsetBytes, disk.sectorSize);
  parentPort?.postMessage({
    sectorSize: disk.sectorSize,
    alignedBuffer: disk.ioBufferAddress % 4096 === 0,
    firstByte: back[0],
  });
  disk.closeSync();
} catch (error) {
  parentPort?.postMessage({ error: error instanceof DiskError ? error.code : String(error) });
}
