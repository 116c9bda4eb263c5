import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDirectDiskSync } from '../src/direct.js';
import { attachLoopDevice, type LoopDevice } from './loop-device.js';

let loop: LoopDevice | undefined;

beforeAll(() => {
  loop = attachLoopDevice(4096, 1024 * 1024);
});

afterAll(() => {
  loop?.detach();
});

it('a worker thread does synchronous O_DIRECT I/O (the addon loads there) and the main thread sees it', async () => {
  const path = loop?.devicePath ?? '';
  // The worker runs the TypeScript source, like the tests: tsx's loader is registered inside it first.
  // (Inside the worker @leasehold/native resolves to its built dist/, which `tsc -b` produces.)
  const entry = new URL('./direct-disk-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { path, offsetBytes: 4096, fill: 0x6b } });
  const reply = await new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  expect(reply).toEqual({ sectorSize: 4096, alignedBuffer: true, firstByte: 0x6b });
  const disk = openDirectDiskSync(path, { readOnly: true });
  try {
    expect(disk.readSync(4096, 4096)).toEqual(new Uint8Array(4096).fill(0x6b));
  } finally {
    disk.closeSync();
  }
});
