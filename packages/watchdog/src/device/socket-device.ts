/**
 * The companion's side of the test watchdog device (a Unix socket, see test-device-protocol.ts).
 * It behaves like CharWatchdogDevice for everything the companion does.
 */
import { createConnection, type Socket } from 'node:net';
import { WatchdogError } from '../errors.js';
import {
  encodeIoctl,
  MAX_REPLY_LINE_BYTES,
  NEWLINE_BYTE,
  parseDeviceReply,
  type DeviceIoctl,
  type DeviceReply,
} from './test-device-protocol.js';
import { KEEPALIVE_BYTE, MAGIC_CLOSE_BYTE, type WatchdogDevice } from './watchdog-device.js';

/** A test device that does not answer within this long is broken. */
export const DEVICE_REPLY_TIMEOUT_MS = 2000;

const KEEPALIVE = Buffer.from([KEEPALIVE_BYTE]);
const MAGIC = Buffer.from([MAGIC_CLOSE_BYTE]);

export class SocketWatchdogDevice implements WatchdogDevice {
  readonly kind = 'test-socket';
  private socket: Socket | undefined;
  private readonly waiting: Array<(reply: DeviceReply) => void> = [];
  private buffered = '';

  constructor(readonly path: string) {}

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  async open(): Promise<void> {
    if (this.socket !== undefined) return;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const candidate = createConnection(this.path);
      candidate.once('connect', () => {
        candidate.off('error', reject);
        resolve(candidate);
      });
      candidate.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')
          reject(new WatchdogError('DEVICE_MISSING', `no test watchdog device listens at ${this.path}`));
        else reject(new WatchdogError('DEVICE_ERROR', `cannot open ${this.path}: ${error.message}`));
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      for (const resolve of this.waiting.splice(0))
        resolve({ ok: false, errno: 'EPIPE', message: 'the device closed the connection' });
    });
    this.socket = socket;
    const greeting = await this.nextReply();
    if (!greeting.ok) {
      this.socket = undefined;
      socket.destroy();
      if (greeting.errno === 'EBUSY') throw new WatchdogError('DEVICE_BUSY', `${this.path} is held by another process`);
      throw new WatchdogError('DEVICE_ERROR', `cannot open ${this.path}: ${greeting.errno} ${greeting.message}`);
    }
  }

  keepalive(): void {
    this.requireSocket().write(KEEPALIVE);
  }

  async setTimeout(seconds: number): Promise<number> {
    const reply = await this.ioctl('SETTIMEOUT', seconds);
    if (!reply.ok) {
      if (reply.errno === 'EINVAL')
        throw new WatchdogError(
          'TIMEOUT_UNSUPPORTED',
          `${this.path} cannot use a ${seconds} s timeout: ${reply.message}`,
        );
      throw new WatchdogError('DEVICE_ERROR', `SETTIMEOUT on ${this.path}: ${reply.errno} ${reply.message}`);
    }
    return reply.value ?? seconds;
  }

  async getTimeout(): Promise<number> {
    const reply = await this.ioctl('GETTIMEOUT');
    if (!reply.ok || reply.value === undefined)
      throw new WatchdogError('DEVICE_ERROR', `GETTIMEOUT on ${this.path} failed`);
    return reply.value;
  }

  async getTimeLeft(): Promise<number | undefined> {
    const reply = await this.ioctl('GETTIMELEFT');
    return reply.ok ? reply.value : undefined;
  }

  async closeMagic(): Promise<void> {
    const socket = this.requireSocket();
    socket.write(MAGIC);
    await this.finish(socket);
  }

  async closeUnclean(): Promise<void> {
    await this.finish(this.requireSocket());
  }

  private async finish(socket: Socket): Promise<void> {
    this.socket = undefined;
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end();
    });
  }

  private async ioctl(ioctl: DeviceIoctl, value?: number): Promise<DeviceReply> {
    const socket = this.requireSocket();
    const reply = this.nextReply();
    socket.write(encodeIoctl(ioctl, value));
    return reply;
  }

  private nextReply(): Promise<DeviceReply> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(settle);
        if (index !== -1) this.waiting.splice(index, 1);
        resolve({ ok: false, errno: 'ETIMEDOUT', message: `no answer within ${DEVICE_REPLY_TIMEOUT_MS} ms` });
      }, DEVICE_REPLY_TIMEOUT_MS);
      const settle = (reply: DeviceReply): void => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.waiting.push(settle);
    });
  }

  private onData(data: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = data.indexOf(NEWLINE_BYTE, start);
      if (newline === -1) break;
      const line = this.buffered + data.subarray(start, newline).toString('latin1');
      this.buffered = '';
      start = newline + 1;
      this.waiting.shift()?.(parseDeviceReply(line));
    }
    this.buffered += data.subarray(start).toString('latin1');
    if (this.buffered.length > MAX_REPLY_LINE_BYTES) this.socket?.destroy();
  }

  private requireSocket(): Socket {
    if (this.socket === undefined) throw new WatchdogError('DEVICE_ERROR', `${this.path} is not open`);
    return this.socket;
  }
}
