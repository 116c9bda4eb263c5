/**
 * One NDJSON connection to the daemon: requests with ids, replies matched back, progress messages
 * delivered to the request that asked for them, every pending request failed when the connection
 * ends.
 */
import { createConnection, type Socket } from 'node:net';
import { encodeLine, LineFramer, MAX_MESSAGE_BYTES, type Reply, type WireError } from '@leasehold/protocol';
import type { ProgressInfo } from '@leasehold/protocol';
import { LeaseholdError } from './errors.js';

interface Pending {
  resolve(result: unknown): void;
  reject(error: LeaseholdError): void;
  onProgress: ((progress: ProgressInfo) => void) | undefined;
}

export class DaemonConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly framer = new LineFramer(MAX_MESSAGE_BYTES);
  private nextId = 1;
  private endError: LeaseholdError | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.endError ??= new LeaseholdError('CONNECTION_CLOSED', `connection to the daemon failed: ${error.message}`);
    });
    socket.on('close', () =>
      this.failAll(this.endError ?? new LeaseholdError('CONNECTION_CLOSED', 'the daemon closed the connection')),
    );
  }

  static open(socketPath: string): Promise<DaemonConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const onError = (error: NodeJS.ErrnoException): void => {
        const code = error.code === 'EACCES' || error.code === 'EPERM' ? 'ACCESS_DENIED' : 'NO_DAEMON';
        reject(
          new LeaseholdError(
            code,
            `cannot connect to the leasehold daemon at ${socketPath}: ${error.code ?? error.message}`,
          ),
        );
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new DaemonConnection(socket));
      });
    });
  }

  get isOpen(): boolean {
    return !this.socket.destroyed && this.endError === undefined;
  }

  /** Sends one request; resolves with its result or rejects with a LeaseholdError. */
  call(op: string, params: Record<string, unknown>, onProgress?: (progress: ProgressInfo) => void): Promise<unknown> {
    if (this.endError !== undefined) return Promise.reject(this.endError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.socket.write(encodeLine({ ...params, id, op }));
    });
  }

  close(): void {
    this.endError ??= new LeaseholdError('CONNECTION_CLOSED', 'the client closed the connection');
    this.socket.end();
    this.socket.destroySoon();
  }

  /** The socket's fd (tests and tools that pass the connection to a child). */
  get fd(): number | undefined {
    return (this.socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  }

  /** Lets the process exit while the connection is open. */
  unref(): void {
    this.socket.unref();
  }

  private onData(data: Buffer): void {
    for (const frame of this.framer.push(data)) {
      if (frame.kind === 'oversize') {
        this.endError = new LeaseholdError('PROTOCOL_ERROR', 'the daemon sent an oversized reply');
        this.socket.destroy();
        return;
      }
      let reply: Reply;
      try {
        reply = JSON.parse(frame.line) as Reply;
      } catch {
        continue;
      }
      this.onReply(reply);
    }
  }

  private onReply(reply: Reply): void {
    if ('progress' in reply) {
      this.pending.get(reply.id)?.onProgress?.(reply.progress);
      return;
    }
    if (reply.id === null) {
      // A complaint about the connection itself (access denied, owner gone, garbage): it ends.
      if (!reply.ok) this.endError = LeaseholdError.fromWire(reply.error as WireError);
      return;
    }
    const entry = this.pending.get(reply.id);
    if (entry === undefined) return;
    this.pending.delete(reply.id);
    if (reply.ok) entry.resolve(reply.result);
    else entry.reject(LeaseholdError.fromWire(reply.error));
  }

  private failAll(error: LeaseholdError): void {
    this.endError ??= error;
    for (const entry of this.pending.values()) entry.reject(this.endError);
    this.pending.clear();
  }
}
