/**
 * The dm backend: a device-mapper linear device per LV through `dmsetup`, named and tabled as lvm
 * does, so `dmsetup ls`/`table` read the same as on an lvm host. Refresh is suspend, reload, resume.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActiveDevice, LvMapping } from '@leasehold/protocol';
import type { ActivationBackend, BackendOptions } from './backend.js';
import { dmLinearTable, dmName, dmUuid } from './dm-table.js';
import { ActivationError } from './errors.js';
import { linkPathOf, makeLink, readLink, removeLink } from './links.js';
import { splitDeviceNumber } from './openers.js';
import { runTool, runToolOk, toolFailure } from './run-tool.js';

export const DEFAULT_DMSETUP_PATH = 'dmsetup';
export const DM_DEVICE_DIR = '/dev/mapper';
/** dmsetup's words for a name no device has. */
const NO_DEVICE_PATTERN = /does not exist/i;
/** dmsetup's words when the device is still open. */
const BUSY_PATTERN = /busy/i;

export interface DmBackendOptions {
  dmsetupPath?: string;
}

/** A PV as a dm table names it: major:minor of its block device. */
async function deviceNumberOf(pvPath: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(pvPath, { bigint: true });
  } catch (error) {
    throw new ActivationError('ACTIVATION_FAILED', `PV ${pvPath} cannot be found: ${String(error)}`, { cause: error });
  }
  if (!info.isBlockDevice())
    throw new ActivationError(
      'ACTIVATION_FAILED',
      `PV ${pvPath} is not a block device: device-mapper maps block devices only`,
    );
  const { major, minor } = splitDeviceNumber(BigInt(info.rdev));
  return `${major}:${minor}`;
}

/** The table with each PV as major:minor, as `dmsetup table` prints it back. */
export async function resolvedTable(mapping: LvMapping): Promise<string> {
  const numbers = new Map<string, string>();
  for (const s of mapping.segments) if (!numbers.has(s.pvPath)) numbers.set(s.pvPath, await deviceNumberOf(s.pvPath));
  return dmLinearTable(mapping, (p) => numbers.get(p) ?? p);
}

export function createDmBackend(backendOptions: DmBackendOptions = {}): ActivationBackend {
  const dmsetup = backendOptions.dmsetupPath ?? DEFAULT_DMSETUP_PATH;

  /** major:minor of the named device, or null when there is none (any other failure throws). */
  async function info(name: string): Promise<{ major: number; minor: number } | null> {
    const args = ['info', '-c', '--noheadings', '-o', 'major,minor', '--separator', ':', name];
    const result = await runTool(dmsetup, args);
    if (result.status !== 0 && NO_DEVICE_PATTERN.test(result.stderr)) return null;
    if (result.status !== 0) throw toolFailure(dmsetup, args, result);
    const [major, minor] = result.stdout.trim().split(':').map(Number);
    if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor))
      throw new ActivationError('ACTIVATION_FAILED', `dmsetup info ${name} printed "${result.stdout.trim()}"`);
    return { major, minor };
  }

  async function liveTable(name: string): Promise<string> {
    return runToolOk(dmsetup, ['table', name]);
  }

  /** Suspend, load the new table, resume; a failed load still resumes so I/O never stays frozen. */
  async function reload(name: string, table: string): Promise<void> {
    await runToolOk(dmsetup, ['suspend', name]);
    const loadArgs = ['reload', name];
    const loaded = await runTool(dmsetup, loadArgs, table);
    await runToolOk(dmsetup, ['resume', name]);
    if (loaded.status !== 0) throw toolFailure(dmsetup, loadArgs, loaded);
  }

  async function linked(
    mapping: LvMapping,
    options: BackendOptions,
    name: string,
    sizeSectors: number,
  ): Promise<ActiveDevice> {
    const number = await info(name);
    if (number === null) throw new ActivationError('ACTIVATION_FAILED', `device-mapper device ${name} is gone`);
    const devicePath = join(DM_DEVICE_DIR, name);
    const linkPath = linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
    if ((await readLink(linkPath)) !== devicePath) await makeLink(linkPath, devicePath);
    return { backend: 'dm', devicePath, linkPath, major: number.major, minor: number.minor, sizeSectors };
  }

  return {
    name: 'dm',

    async activate(mapping, options): Promise<ActiveDevice> {
      const name = dmName(mapping.vgName, mapping.lvName);
      const table = await resolvedTable(mapping);
      if ((await info(name)) === null) {
        const uuid = dmUuid(mapping);
        await runToolOk(dmsetup, ['create', name, ...(uuid === null ? [] : ['--uuid', uuid])], table);
      } else if ((await liveTable(name)) !== table) {
        await reload(name, table);
      }
      return linked(mapping, options, name, mapping.sizeSectors);
    },

    async deactivate(device, mapping, options): Promise<void> {
      const name = dmName(mapping.vgName, mapping.lvName);
      if ((await info(name)) !== null) {
        const args = ['remove', name];
        const result = await runTool(dmsetup, args);
        if (result.status !== 0 && (await info(name)) !== null) {
          if (BUSY_PATTERN.test(result.stderr))
            throw new ActivationError(
              'ACTIVATION_BUSY',
              `${join(DM_DEVICE_DIR, name)} is in use (open, mounted, or held by another device)`,
            );
          throw toolFailure(dmsetup, args, result);
        }
      }
      const linkPath = device.linkPath ?? linkPathOf(options.deviceDir, mapping.vgName, mapping.lvName);
      const target = await readLink(linkPath);
      if (target === null || target === join(DM_DEVICE_DIR, name)) await removeLink(linkPath);
    },

    async refresh(_device, mapping, options): Promise<ActiveDevice> {
      const name = dmName(mapping.vgName, mapping.lvName);
      if ((await info(name)) === null)
        throw new ActivationError('ACTIVATION_FAILED', `device-mapper device ${name} is not active`);
      await reload(name, await resolvedTable(mapping));
      return linked(mapping, options, name, mapping.sizeSectors);
    },

    async verify(device, mapping, options): Promise<boolean> {
      const name = dmName(mapping.vgName, mapping.lvName);
      const number = await info(name);
      if (number === null || number.major !== device.major || number.minor !== device.minor) return false;
      const expected = await resolvedTable(mapping).catch(() => null);
      if (expected === null || (await liveTable(name)) !== expected) return false;
      await linked(mapping, options, name, mapping.sizeSectors);
      return true;
    },
  };
}
