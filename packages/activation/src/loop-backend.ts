/**
 * The loop backend: one loop device over the PV, from the LV's first sector for its size, with
 * direct I/O (no second page cache over the PV's). It maps one run of sectors, so it serves
 * single-segment LVs only; anything else needs device-mapper.
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActiveDevice, LvMapping, LvSegmentMap } from '@leasehold/protocol';
import type { ActivationBackend, BackendOptions } from './backend.js';
import { ActivationError } from './errors.js';
import { isCode, linkPathOf, makeLink, readLink, removeLink } from './links.js';
import { type LoopStatus, loopNameOf, loopStatus } from './loop-sysfs.js';
import { findOpeners } from './openers.js';
import { runTool, runToolOk, toolFailure } from './run-tool.js';

export const SECTOR_BYTES = 512;
export const DEFAULT_LOSETUP_PATH = 'losetup';
/** How many openers a busy refusal names. */
const NAMED_OPENERS = 5;
/**
 * After `losetup --detach` succeeded, how long the device may stay bound before we call it busy: the
 * kernel detaches at the last close, so a short-lived opener (a device scan) only delays it.
 */
export const DETACH_SETTLE_MS = 2000;
const DETACH_POLL_MS = 10;

export interface LoopBackendOptions {
  losetupPath?: string;
}

/** The one run a loop device can map; several runs are refused with the way out. */
export function singleRun(mapping: LvMapping): LvSegmentMap {
  const [run, ...rest] = mapping.segments;
  if (run === undefined)
    throw new ActivationError('BAD_METADATA', `LV ${mapping.vgName}/${mapping.lvName} has no segments`);
  if (rest.length > 0)
    throw new ActivationError(
      'LV_MULTI_SEGMENT',
      `LV ${mapping.vgName}/${mapping.lvName} has ${mapping.segments.length} segments; the loop backend maps only single-segment LVs: use activation_backend = dm`,
    );
  return run;
}

interface LoopPlace {
  backingFile: string;
  offsetBytes: number;
  sizeLimitBytes: number;
}

async function placeOf(run: LvSegmentMap): Promise<LoopPlace> {
  let backingFile: string;
  try {
    backingFile = await realpath(run.pvPath);
  } catch (error) {
    throw new ActivationError('ACTIVATION_FAILED', `PV ${run.pvPath} cannot be found: ${String(error)}`, {
      cause: error,
    });
  }
  return {
    backingFile,
    offsetBytes: run.pvOffsetSectors * SECTOR_BYTES,
    sizeLimitBytes: run.lengthSectors * SECTOR_BYTES,
  };
}

function samePlaceStart(status: LoopStatus, place: LoopPlace): boolean {
  return status.backingFile === place.backingFile && status.offsetBytes === place.offsetBytes;
}

function deviceOf(devicePath: string, linkPath: string, status: LoopStatus): ActiveDevice {
  return {
    backend: 'loop',
    devicePath,
    linkPath,
    major: status.major,
    minor: status.minor,
    sizeSectors: status.sizeSectors,
    backingFile: status.backingFile,
    offsetBytes: status.offsetBytes,
  };
}

/** False when the device records what it mapped and the loop device now maps something else. */
function stillMaps(device: ActiveDevice, status: LoopStatus): boolean {
  if (device.backingFile !== undefined && device.backingFile !== status.backingFile) return false;
  if (device.offsetBytes !== undefined && device.offsetBytes !== status.offsetBytes) return false;
  return device.major === status.major && device.minor === status.minor;
}

/**
 * The device's binding once a detach the kernel accepted has taken effect, or what is still bound
 * after DETACH_SETTLE_MS: null when the device is gone or now maps something else (it was detached
 * and bound again meanwhile).
 */
async function detachSettled(name: string, before: LoopStatus): Promise<LoopStatus | null> {
  const giveUpAt = performance.now() + DETACH_SETTLE_MS;
  for (;;) {
    const now = await loopStatus(name);
    if (now === null || now.backingFile !== before.backingFile || now.offsetBytes !== before.offsetBytes) return null;
    if (performance.now() >= giveUpAt) return now;
    await sleep(DETACH_POLL_MS);
  }
}

/** Throws ACTIVATION_BUSY, naming them, when processes have the device open. */
async function assertNoOpeners(devicePath: string, status: LoopStatus): Promise<void> {
  const openers = await findOpeners([{ major: status.major, minor: status.minor }]);
  if (openers.length === 0) return;
  const named = openers
    .slice(0, NAMED_OPENERS)
    .map((o) => `${o.pid} (${o.comm})`)
    .join(', ');
  throw new ActivationError(
    'ACTIVATION_BUSY',
    `${devicePath} is open by process${openers.length === 1 ? '' : 'es'} ${named}${openers.length > NAMED_OPENERS ? ', ...' : ''}`,
  );
}

async function boundStatus(devicePath: string): Promise<LoopStatus> {
  const name = loopNameOf(devicePath);
  const status = name === null ? null : await loopStatus(name);
  if (status === null) throw new ActivationError('ACTIVATION_FAILED', `${devicePath} is not a bound loop device`);
  return status;
}

/** Changes the live device's sizelimit (losetup cannot) through the native addon's ioctls. */
async function setSizeLimit(devicePath: string, sizeLimitBytes: number): Promise<void> {
  // Loaded here so that importing the package (lvMapping in the commands) does not load the addon.
  const { loopSetSizeLimit } = await import('@leasehold/native');
  const handle = await open(devicePath, constants.O_RDONLY);
  try {
    await loopSetSizeLimit(handle.fd, sizeLimitBytes);
  } catch (error) {
    throw new ActivationError('ACTIVATION_FAILED', `cannot resize ${devicePath}: ${String(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

/** Throws ACTIVATION_BUSY when something holds the device exclusively (a mount, another device over it). */
async function assertNotClaimed(devicePath: string): Promise<void> {
  try {
    const handle = await open(devicePath, constants.O_RDONLY | constants.O_EXCL);
    await handle.close();
  } catch (error) {
    if (isCode(error, 'EBUSY'))
      throw new ActivationError('ACTIVATION_BUSY', `${devicePath} is in use (mounted, or held by another device)`);
    if (!isCode(error, 'ENOENT') && !isCode(error, 'ENXIO')) throw error;
  }
}

export function createLoopBackend(backendOptions: LoopBackendOptions = {}): ActivationBackend {
  const losetup = backendOptions.losetupPath ?? DEFAULT_LOSETUP_PATH;

  /** The device this LV's link points at, when it still maps the LV's start on the same PV. */
  async function linkedDevice(
    linkPath: string,
    place: LoopPlace,
  ): Promise<{ path: string; status: LoopStatus } | null> {
    const target = await readLink(linkPath);
    const name = target === null ? null : loopNameOf(target);
    if (target === null || name === null) return null;
    const status = await loopStatus(name);
    return status !== null && samePlaceStart(status, place) ? { path: target, status } : null;
  }

  async function resized(devicePath: string, place: LoopPlace, mapping: LvMapping): Promise<LoopStatus> {
    let status = await boundStatus(devicePath);
    if (status.sizeLimitBytes !== place.sizeLimitBytes) {
      await setSizeLimit(devicePath, place.sizeLimitBytes);
      status = await boundStatus(devicePath);
    }
    if (status.sizeSectors !== mapping.sizeSectors)
      throw new ActivationError(
        'ACTIVATION_FAILED',
        `${devicePath} has ${status.sizeSectors} sectors, not the LV's ${mapping.sizeSectors}: is the PV ${place.backingFile} shorter than its metadata says?`,
      );
    return status;
  }

  return {
    name: 'loop',

    async activate(mapping: LvMapping, options: BackendOptions): Promise<ActiveDevice> {
      const place = await placeOf(singleRun(mapping));
      const linkPath = linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
      const existing = await linkedDevice(linkPath, place);
      if (existing !== null) return deviceOf(existing.path, linkPath, await resized(existing.path, place, mapping));
      const args = [
        '--find',
        '--show',
        '--offset',
        String(place.offsetBytes),
        '--sizelimit',
        String(place.sizeLimitBytes),
        '--direct-io=on',
        place.backingFile,
      ];
      const devicePath = (await runToolOk(losetup, args)).trim();
      try {
        const status = await resized(devicePath, place, mapping);
        await makeLink(linkPath, devicePath);
        return deviceOf(devicePath, linkPath, status);
      } catch (error) {
        await runTool(losetup, ['--detach', devicePath]).catch(() => undefined);
        throw error;
      }
    },

    async deactivate(device, mapping, options): Promise<void> {
      const linkPath = device.linkPath ?? linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
      const name = device.devicePath === null ? null : loopNameOf(device.devicePath);
      const status = name === null ? null : await loopStatus(name);
      if (device.devicePath !== null && name !== null && status !== null && stillMaps(device, status)) {
        // Refused before detaching: the kernel would detach an open device only lazily, half-done.
        await assertNotClaimed(device.devicePath);
        await assertNoOpeners(device.devicePath, status);
        const args = ['--detach', device.devicePath];
        const result = await runTool(losetup, args);
        const after = result.status === 0 ? await detachSettled(name, status) : await loopStatus(name);
        if (after !== null && result.status === 0)
          throw new ActivationError(
            'ACTIVATION_BUSY',
            `${device.devicePath} was opened meanwhile; it is detached when its last user closes it`,
          );
        if (after !== null) throw toolFailure(losetup, args, result);
      }
      const target = await readLink(linkPath);
      if (target === null || target === device.devicePath) await removeLink(linkPath);
    },

    async refresh(device, mapping, options): Promise<ActiveDevice> {
      const place = await placeOf(singleRun(mapping));
      if (device.devicePath === null)
        throw new ActivationError('ACTIVATION_FAILED', 'the device to refresh has no path');
      const current = await boundStatus(device.devicePath);
      if (!samePlaceStart(current, place))
        throw new ActivationError(
          'ACTIVATION_FAILED',
          `LV ${mapping.vgName}/${mapping.lvName} now starts elsewhere (${place.backingFile} at byte ${place.offsetBytes}, the device maps ${current.backingFile} at ${current.offsetBytes}): deactivate and activate it again`,
        );
      const status = await resized(device.devicePath, place, mapping);
      const linkPath = linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
      if ((await readLink(linkPath)) !== device.devicePath) await makeLink(linkPath, device.devicePath);
      return deviceOf(device.devicePath, linkPath, status);
    },

    async verify(device, mapping, options): Promise<boolean> {
      if (device.devicePath === null || mapping.segments.length !== 1) return false;
      const name = loopNameOf(device.devicePath);
      const status = name === null ? null : await loopStatus(name);
      if (status === null) return false;
      const place = await placeOf(singleRun(mapping)).catch(() => null);
      const same =
        place !== null &&
        samePlaceStart(status, place) &&
        status.sizeLimitBytes === place.sizeLimitBytes &&
        status.major === device.major &&
        status.minor === device.minor;
      if (!same) return false;
      // The device is the LV's: a link lost meanwhile (device_dir on a fresh tmpfs) is made again.
      const linkPath = linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
      if ((await readLink(linkPath)) !== device.devicePath) await makeLink(linkPath, device.devicePath);
      return true;
    },
  };
}
