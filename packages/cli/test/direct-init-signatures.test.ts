/**
 * Issue 14 "Must show": `direct init` on ext4, xfs, swap, GPT, DOS and LVM images refuses without
 * --force and names what it found (util-linux's blkid/wipefs plus our own LVM2 and lease-area
 * readers), leaving the image unchanged; laying out one lockspace area by area needs no --force.
 * The tools are required (Debian: e2fsprogs, xfsprogs, util-linux, fdisk, gdisk, lvm2): a missing
 * one fails the test.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSignatures } from '@leasehold/disk';
import { attachLoop, detachLoop } from '@leasehold/testkit';
import { runCli } from './run-cli.js';

const MIB = 1024 * 1024;
let dir: string;

function sha256(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] ?? '';
}

function sparseImage(name: string, sizeBytes: number): string {
  const path = join(dir, name);
  execFileSync('truncate', ['-s', String(sizeBytes), path]);
  return path;
}

function run(tool: string, args: string[], input?: string): void {
  execFileSync(tool, args, {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env['PATH'] ?? ''}` },
    ...(input === undefined ? {} : { input }),
  });
}

/** A PV of VG `vgName` on a loop device over the image, with a private lvm config (no devices file, no udev). */
function makeLvmImage(vgName: string): string {
  const path = sparseImage(`${vgName}.img`, 64 * MIB);
  const lvmDir = join(dir, 'lvm');
  execFileSync('mkdir', ['-p', lvmDir]);
  writeFileSync(
    join(lvmDir, 'lvm.conf'),
    'devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }\nactivation { udev_sync = 0 udev_rules = 0 }\n',
  );
  const loop = attachLoop(path, 512);
  try {
    const env = { ...process.env, LVM_SYSTEM_DIR: lvmDir, PATH: `/usr/sbin:/sbin:${process.env['PATH'] ?? ''}` };
    execFileSync('pvcreate', ['-q', '--devices', loop, loop], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('vgcreate', ['-q', '--devices', loop, vgName, loop], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    detachLoop(loop);
  }
  return path;
}

interface SignatureCase {
  name: string;
  make: () => string;
  names: RegExp;
  kind: string;
}

const CASES: SignatureCase[] = [
  {
    name: 'ext4',
    make: () => {
      const p = sparseImage('ext4.img', 64 * MIB);
      run('mkfs.ext4', ['-q', '-F', p]);
      return p;
    },
    names: /ext4 filesystem at 0/,
    kind: 'ext4',
  },
  // mkfs.xfs wants at least 300 MiB.
  {
    name: 'xfs',
    make: () => {
      const p = sparseImage('xfs.img', 320 * MIB);
      run('mkfs.xfs', ['-q', '-f', p]);
      return p;
    },
    names: /xfs filesystem at 0/,
    kind: 'xfs',
  },
  {
    name: 'swap',
    make: () => {
      const p = sparseImage('swap.img', 64 * MIB);
      chmodSync(p, 0o600);
      run('mkswap', [p]);
      return p;
    },
    names: /swap area at 0/,
    kind: 'swap',
  },
  {
    name: 'GPT',
    make: () => {
      const p = sparseImage('gpt.img', 64 * MIB);
      run('sgdisk', ['-n', '1:2048:+10M', p]);
      return p;
    },
    names: /gpt partition table at 0/,
    kind: 'gpt',
  },
  {
    name: 'DOS',
    make: () => {
      const p = sparseImage('dos.img', 64 * MIB);
      run('sfdisk', ['-q', p], 'label: dos\n,10M\n');
      return p;
    },
    names: /dos partition table at 0/,
    kind: 'dos',
  },
  { name: 'LVM', make: () => makeLvmImage('vgsig'), names: /LVM2 PV of VG vgsig at 512/, kind: 'LVM2_member' },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'leasehold-signatures-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('direct init refuses a device that carries something else, naming it', () => {
  it.each(CASES)('$name', ({ make, names, kind }) => {
    const path = make();
    const before = sha256(path);
    for (const args of [
      ['-s', `LS:0:${path}:0`],
      ['-s', `LS:0:${path}:1M`],
      ['-s', `LS:0:${path}:32M`],
      ['-r', `LS:R:${path}:2M`],
    ]) {
      const refused = runCli(['direct', 'init', ...args]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^leasehold: FOREIGN_SIGNATURE: /);
      expect(refused.stderr).toMatch(names);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(sha256(path)).toBe(before);
    // With --force it writes, and says over what.
    const forced = runCli(['direct', 'init', '-s', `LS:0:${path}:32M`, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toMatch(names);
    expect(sha256(path)).not.toBe(before);
    return probeSignatures(path).then((found) => expect(found.map((s) => s.kind)).toContain(kind));
  });

  it('the probe names the VG of an LVM2 PV, and lease areas with their names and geometry', async () => {
    const lvm = await probeSignatures(makeLvmImage('vgnamed'));
    expect(lvm).toContainEqual(
      expect.objectContaining({
        kind: 'LVM2_member',
        offsetBytes: 512,
        vgName: 'vgnamed',
        description: 'LVM2 PV of VG vgnamed at 512',
      }),
    );
    const path = sparseImage('leases.img', 8 * MIB);
    expect(runCli(['direct', 'init', '-s', `ls1:0:${path}:0`]).status).toBe(0);
    expect(runCli(['direct', 'init', '-r', `ls1:res1:${path}:3M`]).status).toBe(0);
    expect(await probeSignatures(path)).toEqual([
      {
        kind: 'sanlock-lockspace',
        offsetBytes: 0,
        description: 'sanlock lockspace "ls1" at 0',
        spaceName: 'ls1',
        sectorSize: 512,
        alignBytes: MIB,
      },
      {
        kind: 'sanlock-resource',
        offsetBytes: 3 * MIB,
        description: 'sanlock resource "ls1:res1" at 3145728',
        spaceName: 'ls1',
        resourceName: 'res1',
        sectorSize: 512,
        alignBytes: MIB,
      },
    ]);
    expect(await probeSignatures(path, { offsetBytes: MIB, sizeBytes: 4 * MIB })).toHaveLength(1);
    expect(await probeSignatures(sparseImage('empty.img', 8 * MIB))).toEqual([]);
  });

  it('one lockspace laid out area by area needs no --force; another lockspace on the device is refused, naming it', () => {
    const path = sparseImage('layout.img', 8 * MIB);
    expect(runCli(['direct', 'init', '-s', `LS:0:${path}:0`]).status).toBe(0);
    expect(runCli(['direct', 'init', '-r', `LS:R1:${path}:1M`]).status).toBe(0);
    expect(runCli(['direct', 'init', '-r', `LS:R2:${path}:2M`]).status).toBe(0);
    const before = sha256(path);
    const other = runCli(['direct', 'init', '-s', `OTHER:0:${path}:4M`]);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(
      /^leasehold: FOREIGN_SIGNATURE: .*sanlock lockspace "LS" at 0, sanlock resource "LS:R1" at 1048576, sanlock resource "LS:R2" at 2097152/,
    );
    // Another geometry of the same name is another layout too.
    const otherGeometry = runCli(['direct', 'init', '-r', `LS:R3:${path}:4M`, '-Z', '4096', '-A', '1M']);
    expect(otherGeometry.status).toBe(1);
    expect(otherGeometry.stderr).toMatch(/FOREIGN_SIGNATURE/);
    expect(sha256(path)).toBe(before);
  });
});
