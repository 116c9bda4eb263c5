/**
 * One client connection: peer credentials and access check, newline framing with a size limit,
 * strict validation, concurrent requests (each with its own id and abort signal), replies with
 * back-pressure limits. Malformed input gets an error reply; nothing a client sends can throw out of
 * here. When the connection closes, its requests in progress are cancelled.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@leasehold/lease';
import { peerCredentials, type PeerCredentials } from '@leasehold/native';
import type { ClientConnection, ClientProcess, ClientRegistry } from '../clients/client-registry.js';
import { DaemonError, type WireError } from '@leasehold/protocol';
import { encodeLine, LineFramer } from '@leasehold/protocol';
import { MAX_INFLIGHT_PER_CONNECTION, MAX_MESSAGE_BYTES } from '@leasehold/protocol';
import type { ProgressInfo, Reply, Request } from '@leasehold/protocol';
import { requestIdOf, validateRequest } from '@leasehold/protocol';
import type { AccessPolicy } from './access.js';

/** A client that does not read its replies is cut off once this much is queued for it. */
export const MAX_PENDING_OUTPUT_BYTES = 4 * 1024 * 1024;

export interface RequestContext {
  client: ClientProcess;
  signal: AbortSignal;
  progress(info: ProgressInfo): void;
}

export type RequestHandler = (request: Request, context: RequestContext) => Promise<unknown>;

export interface ConnectionDeps {
  access: AccessPolicy;
  clients: ClientRegistry;
  handle: RequestHandler;
  logger: Logger;
  toWireError(error: unknown): WireError;
  /** Called once the connection is gone. */
  onClosed(connection: Connection): void;
}

/**
 * The cancellation of one request in progress. Its AbortController is made only when the handler
 * asks for the signal: most requests (release, status, ...) never do, and a controller costs about
 * 10 us of the main thread per request.
 */
class Inflight {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

export class Connection implements ClientConnection {
  private readonly framer = new LineFramer(MAX_MESSAGE_BYTES);
  private readonly inflight = new Map<number, Inflight>();
  private client: ClientProcess | undefined;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {}

  /** Checks the peer and starts reading; returns false (and closes) when the peer is refused. */
  start(): boolean {
    const { socket, deps } = this;
    socket.on('error', () => undefined); // ECONNRESET and friends: 'close' follows
    socket.on('close', () => this.onClose());
    const fd = socketFd(socket);
    let credentials: PeerCredentials;
    try {
      if (fd === undefined) throw new Error('no file descriptor');
      credentials = peerCredentials(fd);
    } catch (error) {
      deps.logger.warn({ err: error }, 'cannot read peer credentials: connection refused');
      return this.refuse({ code: 'ACCESS_DENIED', message: 'peer credentials unavailable' });
    }
    if (!deps.access.allows(credentials)) {
      deps.logger.warn(
        { clientPid: credentials.pid, uid: credentials.uid, gid: credentials.gid },
        'connection refused: not root, the daemon user, or in the socket group',
      );
      return this.refuse({
        code: 'ACCESS_DENIED',
        message: `uid ${credentials.uid} may not use this socket (root, the daemon's user and the socket group only)`,
      });
    }
    this.client = deps.clients.attach(credentials, this);
    if (this.client === undefined)
      return this.refuse({ code: 'CLIENT_GONE', message: 'the connecting process has already exited' });
    socket.on('data', (data: Buffer) => this.onData(data));
    return true;
  }

  get owner(): ClientProcess | undefined {
    return this.client;
  }

  ownerGone(): void {
    if (this.closed) return;
    // A forked child holding the socket must not speak for its dead parent.
    this.send({
      id: null,
      ok: false,
      error: { code: 'CLIENT_GONE', message: 'the process that opened this connection has exited' },
    });
    this.abortAll();
    this.socket.end();
    this.socket.destroySoon();
  }

  close(): void {
    this.socket.destroy();
  }

  private refuse(error: WireError): false {
    this.send({ id: null, ok: false, error });
    this.socket.end();
    return false;
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    for (const frame of this.framer.push(data)) {
      if (frame.kind === 'oversize') {
        this.send({
          id: null,
          ok: false,
          error: { code: 'MESSAGE_TOO_LARGE', message: `a request line may be at most ${MAX_MESSAGE_BYTES} bytes` },
        });
        this.socket.end();
        this.socket.destroySoon();
        return;
      }
      this.onLine(frame.line);
    }
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.send({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'the request is not valid JSON' } });
      return;
    }
    let id: number;
    let request: Request;
    try {
      ({ id, request } = validateRequest(parsed));
    } catch (error) {
      this.send({ id: requestIdOf(parsed), ok: false, error: this.deps.toWireError(error) });
      return;
    }
    const client = this.client!;
    if (client.gone) {
      this.send({
        id,
        ok: false,
        error: { code: 'CLIENT_GONE', message: 'the process that opened this connection has exited' },
      });
      return;
    }
    if (this.inflight.has(id)) {
      this.send({
        id,
        ok: false,
        error: { code: 'DUPLICATE_REQUEST_ID', message: `request ${id} is already in progress` },
      });
      return;
    }
    if (this.inflight.size >= MAX_INFLIGHT_PER_CONNECTION) {
      this.send({
        id,
        ok: false,
        error: {
          code: 'TOO_MANY_REQUESTS',
          message: `at most ${MAX_INFLIGHT_PER_CONNECTION} requests may be in progress per connection`,
        },
      });
      return;
    }
    const inflight = new Inflight();
    this.inflight.set(id, inflight);
    const context: RequestContext = {
      client,
      get signal() {
        return inflight.signal;
      },
      progress: (info) => this.send({ id, progress: info }),
    };
    let run: Promise<unknown>;
    try {
      run = this.deps.handle(request, context);
    } catch (error) {
      run = Promise.reject(error);
    }
    run
      .then(
        (result) => this.send({ id, ok: true, result: result ?? {} }),
        (error: unknown) => this.send({ id, ok: false, error: this.deps.toWireError(error) }),
      )
      .finally(() => this.inflight.delete(id));
  }

  private send(reply: Reply): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    if (this.socket.writableLength > MAX_PENDING_OUTPUT_BYTES) {
      this.deps.logger.warn({ clientPid: this.client?.pid }, 'client does not read its replies: connection closed');
      this.socket.destroy();
      return;
    }
    this.socket.write(encodeLine(reply));
  }

  private abortAll(): void {
    for (const inflight of this.inflight.values())
      inflight.abort(new DaemonError('CLIENT_GONE', 'the connection closed'));
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.abortAll();
    if (this.client !== undefined) {
      this.deps.clients.detach(this.client, this);
      // The peer may just have died: look at its pidfd now rather than at the next poll.
      this.deps.clients.checkNow();
    }
    this.deps.onClosed(this);
  }
}
