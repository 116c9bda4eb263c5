/**
 * The daemon's link to the watchdog companion (`leasehold watchdog`, see packages/watchdog).
 *
 * The link keeps one connection, and a copy of every registration it has made: when the connection
 * breaks (companion restarted) it reconnects and replays them, so a restarted companion gets the
 * host's deadlines back before they pass. Notifications never block the daemon's main thread: they
 * are queued on the socket, and a failure is logged (the companion's view is then older than ours,
 * which only makes it fence sooner, never later).
 *
 * Before a lockspace starts, prepareLockspace() insists on a live companion that fences with the
 * daemon's W; without one the start fails with WATCHDOG_UNAVAILABLE (unless the daemon runs with
 * `--watchdog none`).
 */
import { createConnection, type Socket } from 'node:net';
import type { Logger } from '@leasehold/lease';
import { DaemonError } from '@leasehold/protocol';
import {
  COMPANION_PROTOCOL_VERSION,
  encodeLine,
  LineFramer,
  MAX_COMPANION_MESSAGE_BYTES,
  parseCompanionReply,
  type CompanionReply,
  type CompanionRequest,
  type HelloResult,
} from '@leasehold/protocol/companion';
import type { WatchdogLink } from './watchdog-link.js';

/** How long prepareLockspace() keeps trying to reach the companion (it may be starting too). */
export const PREPARE_TIMEOUT_MS = 5000;
/** Pause between connection attempts after the connection broke. */
export const RECONNECT_INTERVAL_MS = 500;
/** A request the companion does not answer within this long counts as failed. */
export const REQUEST_TIMEOUT_MS = 3000;
const CONNECT_RETRY_MS = 200;
/** Refusals that another attempt would only repeat. */
const DEFINITIVE_REFUSALS = new Set(['FIRE_TIMEOUT_MISMATCH', 'VERSION_MISMATCH', 'ACCESS_DENIED']);

class RefusedError extends Error {}

type RequestBody = CompanionRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Registration {
  expiresAtSeconds: number;
  lost: boolean;
}

interface Pending {
  resolve(reply: CompanionReply): void;
  timer: NodeJS.Timeout;
}

export interface CompanionLinkOptions {
  socketPath: string;
  fireTimeoutSeconds: number;
  logger: Logger;
}

export class CompanionLink implements WatchdogLink {
  readonly kind = 'companion';
  private socket: Socket | undefined;
  /** A connection attempt (with its hello) in progress. */
  private connecting: Promise<void> | undefined;
  private readonly registrations = new Map<string, Registration>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private everConnected = false;

  constructor(private readonly options: CompanionLinkOptions) {}

  async start(): Promise<void> {
    // The companion may come up after us (boot order): a missing companion is not fatal here, only
    // for starting lockspaces.
    try {
      await this.ensureConnected(0);
    } catch (error) {
      this.options.logger.error(
        { watchdog: 'companion', socket: this.options.socketPath, err: error },
        'the watchdog companion is not reachable: lockspaces cannot start until it is (or run the daemon with --watchdog none)',
      );
      this.scheduleReconnect();
    }
  }

  async prepareLockspace(lockspace: string): Promise<void> {
    try {
      await this.ensureConnected(PREPARE_TIMEOUT_MS);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DaemonError(
        'WATCHDOG_UNAVAILABLE',
        `cannot start lockspace ${lockspace} without fencing: the watchdog companion at ${this.options.socketPath} is not usable (${reason}); ` +
          'start leasehold-watchdog, or run the daemon with --watchdog none',
      );
    }
  }

  async lockspaceAdded(lockspace: string, expiresAtSeconds: number): Promise<void> {
    this.registrations.set(lockspace, { expiresAtSeconds, lost: false });
    const socket = this.socket;
    const reply: CompanionReply =
      socket === undefined
        ? { id: null, ok: false, error: { code: 'DISCONNECTED', message: 'the connection to the companion is down' } }
        : await this.request(socket, { op: 'set', lockspace, expiresAtSeconds });
    if (reply.ok) return;
    throw new DaemonError(
      'WATCHDOG_UNAVAILABLE',
      `cannot use lockspace ${lockspace} without fencing: the watchdog companion did not take its registration (${reply.error.code}: ${reply.error.message})`,
    );
  }

  lockspaceRenewed(lockspace: string, expiresAtSeconds: number): void {
    const registration = this.registrations.get(lockspace);
    // A renewal that arrives after the loss must not move the deadline again.
    if (registration?.lost === true) return;
    this.registrations.set(lockspace, { expiresAtSeconds, lost: false });
    this.notify({ op: 'set', lockspace, expiresAtSeconds });
  }

  lockspaceLost(lockspace: string): void {
    const registration = this.registrations.get(lockspace);
    if (registration !== undefined) registration.lost = true;
    this.notify({ op: 'lost', lockspace });
  }

  lockspaceRemoved(lockspace: string): void {
    this.registrations.delete(lockspace);
    this.notify({ op: 'remove', lockspace });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    // Let queued removals reach the companion before the connection goes.
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
  }

  // ------------------------------------------------------------------------------ connection

  private ensureConnected(timeoutMs: number): Promise<void> {
    if (this.socket !== undefined) return Promise.resolve();
    this.connecting ??= this.connectWithin(timeoutMs).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithin(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.connectOnce();
        return;
      } catch (error) {
        if (error instanceof RefusedError || Date.now() + CONNECT_RETRY_MS > deadline || this.closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
      }
    }
  }

  private async connectOnce(): Promise<void> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const candidate = createConnection(this.options.socketPath);
      candidate.once('connect', () => {
        candidate.off('error', reject);
        resolve(candidate);
      });
      candidate.once('error', reject);
    });
    const framer = new LineFramer(MAX_COMPANION_MESSAGE_BYTES);
    socket.on('data', (data: Buffer) => {
      for (const frame of framer.push(data)) {
        if (frame.kind === 'oversize') {
          socket.destroy();
          return;
        }
        const reply = parseCompanionReply(frame.line);
        if (reply === undefined || reply.id === null) continue;
        const pending = this.pending.get(reply.id);
        if (pending === undefined) continue;
        this.pending.delete(reply.id);
        clearTimeout(pending.timer);
        pending.resolve(reply);
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.onClose(socket));
    const hello = await this.request(socket, {
      op: 'hello',
      version: COMPANION_PROTOCOL_VERSION,
      daemonPid: process.pid,
      fireTimeoutSeconds: this.options.fireTimeoutSeconds,
    });
    if (!hello.ok) {
      socket.destroy();
      const message = `${hello.error.code}: ${hello.error.message}`;
      throw DEFINITIVE_REFUSALS.has(hello.error.code) ? new RefusedError(message) : new Error(message);
    }
    const result = hello.result as HelloResult;
    this.socket = socket;
    // Replay: a restarted companion learns every deadline again (lost ones keep their old expiry).
    for (const [lockspace, registration] of this.registrations) {
      this.notify({ op: 'set', lockspace, expiresAtSeconds: registration.expiresAtSeconds });
      if (registration.lost) this.notify({ op: 'lost', lockspace });
    }
    this.options.logger.info(
      {
        watchdog: 'companion',
        device: result.device,
        fireTimeoutSeconds: result.fireTimeoutSeconds,
        intervalSeconds: result.intervalSeconds,
        replayed: this.registrations.size,
      },
      this.everConnected ? 'reconnected to the watchdog companion' : 'connected to the watchdog companion',
    );
    this.everConnected = true;
  }

  private onClose(socket: Socket): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ id, ok: false, error: { code: 'DISCONNECTED', message: 'the companion connection closed' } });
    }
    this.pending.clear();
    if (this.socket !== socket) return;
    this.socket = undefined;
    if (this.closed) return;
    this.options.logger.error(
      { watchdog: 'companion', registrations: [...this.registrations.keys()] },
      'lost the connection to the watchdog companion: reconnecting. If it does not come back, the watchdog resets this host ' +
        'while lockspaces are registered, and no lockspace can start',
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.socket !== undefined || this.closed) return;
      this.ensureConnected(0).catch(() => this.scheduleReconnect());
    }, RECONNECT_INTERVAL_MS);
    this.reconnectTimer.unref();
  }

  // -------------------------------------------------------------------------------- requests

  private request(socket: Socket, body: RequestBody): Promise<CompanionReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({
          id,
          ok: false,
          error: { code: 'TIMEOUT', message: `no answer from the companion within ${REQUEST_TIMEOUT_MS} ms` },
        });
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      socket.write(encodeLine({ id, ...body }));
    });
  }

  /** Fire and forget; the reply, if an error, is logged. Without a connection the replay covers it. */
  private notify(body: RequestBody): void {
    const socket = this.socket;
    if (socket === undefined) return;
    void this.request(socket, body).then((reply) => {
      if (!reply.ok && reply.error.code !== 'DISCONNECTED') {
        this.options.logger.error(
          { watchdog: 'companion', op: body.op, error: reply.error },
          'the watchdog companion refused an update',
        );
      }
    });
  }
}
