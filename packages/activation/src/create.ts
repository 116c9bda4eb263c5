/** Picks the backend leasehold.conf names (activation_backend), or the one this machine supports. */
import { existsSync, readFileSync } from 'node:fs';
import type { ActivationBackendName } from '@leasehold/protocol';
import type { ActivationBackend } from './backend.js';
import { createDmBackend } from './dm-backend.js';
import { createLoopBackend } from './loop-backend.js';
import { noneBackend } from './none-backend.js';

/** Present where the kernel has device-mapper. */
export const DM_CONTROL_PATH = '/dev/mapper/control';

export interface CreateBackendOptions {
  /** The dmsetup to run (tests pass a recording stand-in). */
  dmsetupPath?: string;
  losetupPath?: string;
}

export function createBackend(name: ActivationBackendName, options: CreateBackendOptions = {}): ActivationBackend {
  switch (name) {
    case 'dm':
      return createDmBackend(options.dmsetupPath === undefined ? {} : { dmsetupPath: options.dmsetupPath });
    case 'loop':
      return createLoopBackend(options.losetupPath === undefined ? {} : { losetupPath: options.losetupPath });
    case 'none':
      return noneBackend;
  }
}

/** The kernel's misc devices: device-mapper is listed there when the driver is loaded. */
export const PROC_MISC_PATH = '/proc/misc';

function kernelHasDeviceMapper(miscPath: string): boolean {
  try {
    return /\sdevice-mapper$/m.test(readFileSync(miscPath, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * dm where device-mapper is there, else loop (issue 13: the default of activation_backend). A control
 * node alone is not enough: containers and these test machines have /dev/mapper/control without the
 * driver, where every dmsetup call fails.
 */
export function defaultBackendName(
  controlPath: string = DM_CONTROL_PATH,
  miscPath: string = PROC_MISC_PATH,
): 'dm' | 'loop' {
  return existsSync(controlPath) && kernelHasDeviceMapper(miscPath) ? 'dm' : 'loop';
}
