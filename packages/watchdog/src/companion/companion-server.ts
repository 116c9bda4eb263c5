/**
 * The companion's socket: JSON lines from the daemon (see @leasehold/protocol/companion). Only
 * root and the companion's own user may connect (a registration decides whether the host is reset).
 * Registrations outlive the connection that made them: a daemon that dies leaves its deadlines in
 * place, as wdmd keeps a dead sanlock's.
 */
import type { Server, Socket } from 'node:net';
import { listenOnSocketFile, socketAnswers } from '@leasehold/protocol/socket-file';
import type { Logger } from '@leasehold/lease';
import { peerCredentials } from '@leasehold/native';
import {
  COMPANION_PROTOCOL_VERSION,
  encodeLine,
  LineFramer,
  MAX_COMPANION_MESSAGE_BYTES,
  parseCompanionRequest,
  type CompanionReply,
  type CompanionRequest,
  type HelloResult,
  type StatusResult,
} from '@leasehold/protocol/companion';
import { WatchdogError } from '../errors.js';

const SOCKET_MODE = 0o600;

export interface CompanionHandlers {
  hello(): HelloResult;
  fireTimeoutSeconds: number;
  set(lockspace: string, expiresAtSeconds: number, daemonPid: number): boolean;
  lost(lockspace: string, daemonPid: number): void;
  remove(lockspace: string, daemonPid: number): void;
  status(): StatusResult;
  isStopping(): boolean;
}

function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/** True when something accepts connections on `path`. */
export { socketAnswers };

export function listenCompanionSocket(path: string, handlers: CompanionHandlers, logger: Logger): Promise<Server> {
  return listenOnSocketFile(
    path,
    SOCKET_MODE,
    undefined,
    (socket) => serveConnection(socket, handlers, logger),
    (p) => new WatchdogError('ALREADY_RUNNING', `another companion serves ${p}`),
  );
}

function serveConnection(socket: Socket, handlers: CompanionHandlers, logger: Logger): void {
  socket.on('error', () => undefined);
  const fd = socketFd(socket);
  let peer;
  try {
    if (fd === undefined) throw new Error('no file descriptor');
    peer = peerCredentials(fd);
  } catch (error) {
    logger.warn({ err: error }, 'cannot read peer credentials: connection refused');
    socket.end(
      encodeLine({ id: null, ok: false, error: { code: 'ACCESS_DENIED', message: 'peer credentials unavailable' } }),
    );
    return;
  }
  const ourUid = process.getuid?.() ?? 0;
  if (peer.uid !== 0 && peer.uid !== ourUid) {
    logger.warn(
      { clientPid: peer.pid, uid: peer.uid },
      'connection refused: only root and the companion user may register',
    );
    socket.end(
      encodeLine({
        id: null,
        ok: false,
        error: { code: 'ACCESS_DENIED', message: `uid ${peer.uid} may not use the watchdog companion` },
      }),
    );
    return;
  }
  const framer = new LineFramer(MAX_COMPANION_MESSAGE_BYTES);
  let daemonPid: number | undefined;
  const reply = (message: CompanionReply): void => {
    if (!socket.destroyed) socket.write(encodeLine(message));
  };
  const handle = (request: CompanionRequest): CompanionReply => {
    if (request.op === 'status') return { id: request.id, ok: true, result: handlers.status() };
    if (request.op === 'hello') {
      if (request.version !== COMPANION_PROTOCOL_VERSION) {
        return {
          id: request.id,
          ok: false,
          error: {
            code: 'VERSION_MISMATCH',
            message: `companion speaks version ${COMPANION_PROTOCOL_VERSION}, not ${request.version}`,
          },
        };
      }
      if (request.fireTimeoutSeconds !== handlers.fireTimeoutSeconds) {
        return {
          id: request.id,
          ok: false,
          error: {
            code: 'FIRE_TIMEOUT_MISMATCH',
            message: `the daemon's watchdog_fire_timeout is ${request.fireTimeoutSeconds} s but the companion fences with ${handlers.fireTimeoutSeconds} s (W must be the same everywhere)`,
          },
        };
      }
      if (handlers.isStopping())
        return { id: request.id, ok: false, error: { code: 'SHUTTING_DOWN', message: 'the companion is stopping' } };
      daemonPid = request.daemonPid;
      logger.info({ daemonPid, peerPid: peer.pid }, 'daemon connected');
      return { id: request.id, ok: true, result: handlers.hello() };
    }
    if (daemonPid === undefined)
      return { id: request.id, ok: false, error: { code: 'BAD_REQUEST', message: 'say hello first' } };
    switch (request.op) {
      case 'set':
        if (!handlers.set(request.lockspace, request.expiresAtSeconds, daemonPid)) {
          return {
            id: request.id,
            ok: false,
            error: { code: 'TOO_MANY_REGISTRATIONS', message: 'the registration table is full' },
          };
        }
        return { id: request.id, ok: true };
      case 'lost':
        handlers.lost(request.lockspace, daemonPid);
        return { id: request.id, ok: true };
      case 'remove':
        handlers.remove(request.lockspace, daemonPid);
        return { id: request.id, ok: true };
      default: {
        const unexpected: never = request;
        throw new Error(`unexpected companion request ${JSON.stringify(unexpected)}`);
      }
    }
  };
  socket.on('data', (data: Buffer) => {
    for (const frame of framer.push(data)) {
      if (frame.kind === 'oversize') {
        reply({
          id: null,
          ok: false,
          error: { code: 'BAD_REQUEST', message: `line longer than ${MAX_COMPANION_MESSAGE_BYTES} bytes` },
        });
        socket.end();
        return;
      }
      const parsed = parseCompanionRequest(frame.line);
      if ('reason' in parsed) {
        reply({ id: parsed.id, ok: false, error: { code: 'BAD_REQUEST', message: parsed.reason } });
        continue;
      }
      reply(handle(parsed.request));
    }
  });
  socket.on('close', () => {
    if (daemonPid !== undefined)
      logger.info({ daemonPid }, 'daemon disconnected (its registrations stay until removed or expired)');
  });
}
