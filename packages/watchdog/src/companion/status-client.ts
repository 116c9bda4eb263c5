/** Asks a running companion for its status (`leasehold watchdog --status`, the test cluster). */
import { createConnection } from 'node:net';
import {
  encodeLine,
  LineFramer,
  MAX_COMPANION_MESSAGE_BYTES,
  parseCompanionReply,
  type StatusResult,
} from '@leasehold/protocol/companion';
import { WatchdogError } from '../errors.js';

const STATUS_TIMEOUT_MS = 3000;

export function companionStatus(socketPath: string): Promise<StatusResult> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const framer = new LineFramer(MAX_COMPANION_MESSAGE_BYTES * 64);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WatchdogError('COMPANION_UNREACHABLE', `no status from ${socketPath} within ${STATUS_TIMEOUT_MS} ms`));
    }, STATUS_TIMEOUT_MS);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new WatchdogError('COMPANION_UNREACHABLE', `no watchdog companion at ${socketPath}: ${error.message}`));
    });
    socket.once('connect', () => socket.write(encodeLine({ id: 1, op: 'status' })));
    socket.on('data', (data: Buffer) => {
      for (const frame of framer.push(data)) {
        if (frame.kind !== 'line') continue;
        const reply = parseCompanionReply(frame.line);
        if (reply === undefined) continue;
        clearTimeout(timer);
        socket.destroy();
        if (reply.ok) resolve(reply.result as StatusResult);
        else reject(new WatchdogError('COMPANION_UNREACHABLE', `${reply.error.code}: ${reply.error.message}`));
      }
    });
  });
}
