/**
 * The test watchdog device process: an EmulatedWatchdog behind a Unix socket (the device node the
 * companion opens) and a control socket for the test cluster (status, power cycle). It runs outside
 * the emulated host it resets, so nothing in that host can stop it, and it appends every event to a
 * JSON-lines log that tests read (times are CLOCK_MONOTONIC seconds).
 */
import { appendFileSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { monotonicSeconds } from '../../timing.js';
import { EmulatedWatchdog, type DeviceEvent, type DeviceOpener } from './emulated-watchdog.js';
import { resetRecordedHost } from './host-file.js';

/** How often the device looks at its timer: the lateness of a reset is at most this (plus load). */
export const DEVICE_TICK_MS = 20;
const MAX_CONTROL_LINE_BYTES = 1024;

export interface TestDeviceOptions {
  socketPath: string;
  controlPath: string;
  timeoutSeconds: number;
  hostFile: string;
  eventsPath: string;
}

export interface RunningTestDevice {
  watchdog: EmulatedWatchdog;
  close(): Promise<void>;
}

function listen(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  if (existsSync(path)) unlinkSync(path);
  const server = createServer(onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export async function runTestDevice(options: TestDeviceOptions): Promise<RunningTestDevice> {
  const onEvent = (event: DeviceEvent): void => {
    appendFileSync(options.eventsPath, JSON.stringify({ ...event, wallTime: new Date().toISOString() }) + '\n');
  };
  const watchdog = new EmulatedWatchdog({
    initialTimeoutSeconds: options.timeoutSeconds,
    now: monotonicSeconds,
    resetHost: () => resetRecordedHost(options.hostFile),
    onEvent,
  });

  const device = await listen(options.socketPath, (socket) => {
    socket.on('error', () => undefined);
    const opener: DeviceOpener = {
      reply: (line) => {
        if (!socket.destroyed) socket.write(`${line}\n`);
      },
      drop: () => {
        socket.destroy();
      },
    };
    if (!watchdog.open(opener)) return;
    socket.on('data', (data: Buffer) => watchdog.write(opener, data));
    socket.on('close', () => watchdog.close(opener));
  });

  const control = await listen(options.controlPath, (socket) => {
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      if (buffered.length > MAX_CONTROL_LINE_BYTES) return void socket.destroy();
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === 'status') socket.write(JSON.stringify({ ok: true, status: watchdog.status() }) + '\n');
        else if (line === 'power-cycle') {
          watchdog.powerCycle();
          socket.write(JSON.stringify({ ok: true }) + '\n');
        } else socket.write(JSON.stringify({ ok: false, error: `unknown command ${JSON.stringify(line)}` }) + '\n');
      }
    });
  });

  const ticker = setInterval(() => void watchdog.tick(), DEVICE_TICK_MS);
  return {
    watchdog,
    close: async () => {
      clearInterval(ticker);
      await Promise.all(
        [device, control].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}
