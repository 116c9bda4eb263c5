/**
 * Typed access to the leasehold_native addon: aligned buffers for O_DIRECT,
 * block-device ioctls, Unix-socket peer credentials, pidfds, watchdog ioctls, sd_notify.
 */
import { createRequire } from 'node:module';

export interface BlockDeviceGeometry {
  sizeBytes: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface NativeBinding {
  alignedBuffer(sizeBytes: number, alignmentBytes: number): Buffer;
  bufferAddress(buffer: Buffer): number;
  blockDeviceGeometry(fd: number): BlockDeviceGeometry;
  peerCredentials(fd: number): PeerCredentials;
  pidfdOpen(pid: number): number;
  pollReadable(fd: number, timeoutMs: number): boolean;
  wdSetTimeout(fd: number, seconds: number): number;
  wdGetTimeout(fd: number): number;
  wdGetTimeLeft(fd: number): number;
  wdKeepalive(fd: number): number;
  sdNotify(socketPath: string, message: string): boolean;
  flockNb(fd: number, exclusive: number): boolean;
  funlock(fd: number): boolean;
  loopSetSizeLimit(fd: number, sizeLimitBytes: number): Promise<void>;
  listenUnix(path: string, backlog: number): number;
  commandAccept(listenFd: number): AcceptedCommand;
  dup2(fromFd: number, toFd: number): void;
}

/** One command handed to a worker by `leasehold-fast` (csrc/command_protocol.h). */
export interface AcceptedCommand {
  /** The connection: the exit status goes back on it; it closes when the front end dies. */
  connFd: number;
  /** The front end's pid (SO_PEERCRED). */
  pid: number;
  /** The front end's stdin, stdout and stderr, received with SCM_RIGHTS. */
  fds: [number, number, number];
  /** argc, envc, umask, then the NUL-terminated strings (parsed by the CLI's command-server/protocol.ts). */
  payload: Buffer;
}

const require = createRequire(import.meta.url);
const binding = require('../build/Release/leasehold_native.node') as NativeBinding;

/** Alignment every O_DIRECT buffer gets: covers 512- and 4096-byte logical sectors. */
export const DIRECT_IO_ALIGNMENT_BYTES = 4096;

/** A zero-filled Buffer whose memory starts on an `alignmentBytes` boundary. */
export function alignedBuffer(sizeBytes: number, alignmentBytes: number = DIRECT_IO_ALIGNMENT_BYTES): Buffer {
  return binding.alignedBuffer(sizeBytes, alignmentBytes);
}

/** The low 53 bits of a buffer's data address (for alignment assertions). */
export function bufferAddress(buffer: Buffer): number {
  return binding.bufferAddress(buffer);
}

export function isAligned(buffer: Buffer, alignmentBytes: number = DIRECT_IO_ALIGNMENT_BYTES): boolean {
  return bufferAddress(buffer) % alignmentBytes === 0;
}

export function blockDeviceGeometry(fd: number): BlockDeviceGeometry {
  return binding.blockDeviceGeometry(fd);
}

export function peerCredentials(fd: number): PeerCredentials {
  return binding.peerCredentials(fd);
}

export function pidfdOpen(pid: number): number {
  return binding.pidfdOpen(pid);
}

export function pollReadable(fd: number, timeoutMs: number): boolean {
  return binding.pollReadable(fd, timeoutMs);
}

export const watchdogIoctl = {
  setTimeout: (fd: number, seconds: number): number => binding.wdSetTimeout(fd, seconds),
  getTimeout: (fd: number): number => binding.wdGetTimeout(fd),
  getTimeLeft: (fd: number): number => binding.wdGetTimeLeft(fd),
  keepalive: (fd: number): number => binding.wdKeepalive(fd),
};

export function sdNotify(socketPath: string, message: string): boolean {
  return binding.sdNotify(socketPath, message);
}

/** Non-blocking flock(2) on `fd`: true when taken, false when another open file description holds it. */
export function flockNonBlocking(fd: number, exclusive: boolean): boolean {
  return binding.flockNb(fd, exclusive ? 1 : 0);
}

/** Releases a flock(2) taken on `fd`. */
export function funlock(fd: number): void {
  binding.funlock(fd);
}

/**
 * Sets a bound loop device's sizelimit in place (LOOP_SET_STATUS64, then LOOP_SET_CAPACITY) so it
 * takes a new size while open: what `losetup` cannot do. Runs off the event loop; `fd` is the loop
 * device, open for as long as the promise is pending.
 */
export function loopSetSizeLimit(fd: number, sizeLimitBytes: number): Promise<void> {
  return binding.loopSetSizeLimit(fd, sizeLimitBytes);
}

/** A listening Unix stream socket at `path`, mode 0600 from the moment it exists; returns its fd. */
export function listenUnix(path: string, backlog: number): number {
  return binding.listenUnix(path, backlog);
}

/**
 * Blocks this thread until a front end of our own uid sends a well-formed command (others get a
 * refusal and are skipped). For an idle command worker only: nothing else runs while it waits.
 */
export function commandAccept(listenFd: number): AcceptedCommand {
  return binding.commandAccept(listenFd);
}

/** dup2(2): `toFd` becomes a copy of `fromFd`. */
export function dup2(fromFd: number, toFd: number): void {
  binding.dup2(fromFd, toFd);
}
