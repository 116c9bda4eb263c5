/**
 * The command server's wire format on the TypeScript side (the C side and the byte layout:
 * packages/native/csrc/command_protocol.h; keep them in step). The native accept has already
 * checked the header, the three fds and the peer's uid; this parses the payload and builds replies.
 */
import { COMMANDS, isGroup, type CommandSpec } from '../command-registry.js';
import { TOP_ROUTE_KEY } from '../dispatch.js';

export const STATUS_MAGIC = 'LHCS';
export const REFUSED_MAGIC = 'LHCR';
const REPLY_BYTES = 8;
const PAYLOAD_HEAD_BYTES = 12;
/** Limits on what a request may carry (ARG_MAX-sized payloads are refused by the native side). */
export const MAX_REQUEST_ARGS = 65_536;
export const MAX_REQUEST_ENV_VARS = 65_536;

/** Why a worker refused (u32 after "LHCR"); the front end then runs the command itself. */
export const REFUSED_REASON = { uid: 1, malformed: 2, command: 3 } as const;

/** Where `leasehold-fast` and `leasehold command-server` meet unless LEASEHOLD_COMMAND_SOCKET says otherwise. */
export const DEFAULT_COMMAND_SOCKET = '/run/leasehold/commands.sock';

export interface CommandRequest {
  /** argv[0] as the front end was invoked (`lvs` through a link), then its arguments. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  umask: number;
}

export class MalformedRequest extends Error {
  override readonly name = 'MalformedRequest';
}

export function parseRequest(payload: Buffer): CommandRequest {
  if (payload.length < PAYLOAD_HEAD_BYTES) throw new MalformedRequest('payload shorter than its head');
  const argc = payload.readUInt32LE(0);
  const envc = payload.readUInt32LE(4);
  const umask = payload.readUInt32LE(8);
  if (argc < 1 || argc > MAX_REQUEST_ARGS) throw new MalformedRequest(`argc ${argc} out of range`);
  if (envc > MAX_REQUEST_ENV_VARS) throw new MalformedRequest(`envc ${envc} out of range`);
  if (umask > 0o777) throw new MalformedRequest(`umask ${umask.toString(8)} out of range`);
  const strings: string[] = [];
  let at = PAYLOAD_HEAD_BYTES;
  while (at < payload.length) {
    const end = payload.indexOf(0, at);
    if (end < 0) throw new MalformedRequest('a string without its NUL');
    strings.push(payload.toString('utf8', at, end));
    at = end + 1;
  }
  if (strings.length !== argc + 1 + envc)
    throw new MalformedRequest(`${strings.length} strings, expected ${argc} + 1 + ${envc}`);
  const env: Record<string, string> = {};
  for (const entry of strings.slice(argc + 1)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue; // as execve's consumers do: an entry without a name is no variable
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { argv: strings.slice(0, argc), cwd: strings[argc] ?? '/', env, umask };
}

function reply(magic: string, value: number): Buffer {
  const buffer = Buffer.alloc(REPLY_BYTES);
  buffer.write(magic, 0, 'latin1');
  buffer.writeInt32LE(value, 4);
  return buffer;
}

export function statusReply(exitStatus: number): Buffer {
  return reply(STATUS_MAGIC, exitStatus);
}

export function refusedReply(reason: number): Buffer {
  return reply(REFUSED_MAGIC, reason);
}

/**
 * The routes a worker runs: short commands whose whole effect is their output, their exit status and
 * what they ask the daemon or write to disks. Long-running ones (the daemon, the companion, `run`,
 * `direct join`, the test tools) are refused and run by the front end itself, where a process of
 * their own is what the user expects.
 */
const NOT_SERVED: ReadonlySet<string> = new Set(['daemon', 'watchdog', 'run', 'testing', 'command-server']);
const DIRECT_SERVED: ReadonlySet<string> = new Set(['dump', 'read-leader', 'hosts']);

function servedKeys(commands: readonly CommandSpec[]): Set<string> {
  const keys = new Set<string>([TOP_ROUTE_KEY]);
  for (const spec of commands) {
    if (NOT_SERVED.has(spec.name)) continue;
    if (!isGroup(spec)) keys.add(spec.name);
    else if (spec.name === 'direct')
      for (const sub of spec.subcommands) if (DIRECT_SERVED.has(sub.name)) keys.add(`direct-${sub.name}`);
  }
  return keys;
}

export const SERVED_ROUTE_KEYS: ReadonlySet<string> = servedKeys(COMMANDS);
