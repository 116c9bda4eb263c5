/** What a command worker tells its server over the IPC channel (worker.ts -> server.ts). */
export type WorkerMessage =
  /** Booted and waiting for a command; `prepared`: the commands whose bundles it has run ahead. */
  | { type: 'ready'; pid: number; prepared: string[] }
  /** Took a command: no longer idle; the server starts a replacement. */
  | { type: 'busy'; pid: number; command: string; frontEndPid: number };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Partial<WorkerMessage>;
  if (typeof message.pid !== 'number') return false;
  if (message.type === 'ready') return Array.isArray(message.prepared);
  return message.type === 'busy' && typeof message.command === 'string' && typeof message.frontEndPid === 'number';
}
