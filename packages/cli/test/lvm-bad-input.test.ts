/**
 * Bad input for the lvm-named commands (issue 10, build 4): every case shows lvm's kind of message,
 * the exit status, and that the devices are byte for byte what they were. Signatures are made by the
 * real tools (mkfs.ext4, mkswap, sfdisk, sanlock, lvm); the md superblock is written here because
 * mdadm is not installed, and blkid recognises it as linux_raid_member.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLvmLab, type LvmLab } from './support/lvm-oracle.js';

const MIB = 1024 * 1024;
const DEVICE_BYTES = 64 * MIB;
let lab: LvmLab;

beforeAll(() => {
  lab = createLvmLab('lvmbad');
});
afterAll(() => lab?.cleanup());

function digest(device: string): string {
  const hash = createHash('sha256');
  const fd = openSync(device, 'r');
  try {
    const chunk = Buffer.alloc(MIB);
    for (let at = 0; at < DEVICE_BYTES; at += MIB) {
      const n = readSync(fd, chunk, 0, MIB, at);
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function poke(device: string, offsetBytes: number, bytes: Buffer): void {
  const fd = openSync(device, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offsetBytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function peek(device: string, offsetBytes: number, length: number): Buffer {
  const fd = openSync(device, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offsetBytes);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

function flipByte(device: string, offsetBytes: number): void {
  const old = peek(device, offsetBytes, 1);
  poke(device, offsetBytes, Buffer.from([(old[0] as number) ^ 0x01]));
}

/** An md 1.2 superblock (4 KiB into the device) with a valid checksum, as mdadm --create writes it. */
function writeMdSuperblock(device: string): void {
  const maxDev = 4;
  const sb = Buffer.alloc(256 + 2 * maxDev);
  sb.writeUInt32LE(0xa92b4efc, 0);
  sb.writeUInt32LE(1, 4);
  for (let i = 0; i < 16; i++) sb[16 + i] = i + 1;
  sb.write('host:md0', 32, 'ascii');
  sb.writeUInt32LE(1, 72); // level 1
  sb.writeBigUInt64LE(BigInt(DEVICE_BYTES / 512 - 2048), 80); // size
  sb.writeUInt32LE(2, 92); // raid_disks
  sb.writeBigUInt64LE(2048n, 128); // data_offset
  sb.writeBigUInt64LE(BigInt(DEVICE_BYTES / 512 - 2048), 136); // data_size
  sb.writeBigUInt64LE(8n, 144); // super_offset (sectors)
  sb.writeUInt32LE(maxDev, 220);
  sb.writeUInt16LE(0, 256);
  sb.writeUInt16LE(1, 258);
  sb.writeUInt16LE(0xffff, 260);
  sb.writeUInt16LE(0xffff, 262);
  let sum = 0n;
  for (let i = 0; i < sb.length; i += 4) sum += BigInt(sb.readUInt32LE(i));
  const csum = (sum & 0xffffffffn) + (sum >> 32n);
  sb.writeUInt32LE(Number(csum & 0xffffffffn), 216);
  poke(device, 4096, sb);
}

function run(tool: string, args: string[]): void {
  execFileSync(tool, args, {
    stdio: ['pipe', 'ignore', 'ignore'],
    input: tool === 'sfdisk' ? (args.includes('gpt') ? 'label: gpt\n' : ',,83\n') : '',
  });
}

/** mkfs.xfs refuses devices under 300 MiB. */
const XFS_DEVICE_BYTES = 320 * 1024 * 1024;

const SIGNATURES: Array<[string, (device: string) => void, RegExp]> = [
  ['ext4', (d) => run('mkfs.ext4', ['-q', '-F', d]), /ext4 \(UUID [^)]+\) signature detected on \S+ at offset 1080\./],
  ['swap', (d) => run('mkswap', [d]), /swap \(UUID [^)]+\) signature detected on \S+ at offset 4086\./],
  [
    'gpt',
    (d) => execFileSync('sfdisk', ['-q', d], { input: 'label: gpt\n', stdio: ['pipe', 'ignore', 'ignore'] }),
    /gpt signature detected on \S+ at offset 512\./,
  ],
  [
    'dos',
    (d) => execFileSync('sfdisk', ['-q', d], { input: ',,83\n', stdio: ['pipe', 'ignore', 'ignore'] }),
    /dos signature detected on \S+ at offset 510\./,
  ],
  ['md', writeMdSuperblock, /linux_raid_member \(label "host:md0"\) signature detected on \S+ at offset 4096\./],
];

describe('pvcreate and vgcreate refuse devices that carry something', () => {
  it.each(SIGNATURES)(
    '%s: refused without -y/-f, named with its offset, the device unchanged',
    (_name, make, message) => {
      const device = lab.addLoop(DEVICE_BYTES);
      make(device);
      const before = digest(device);
      for (const [command, args] of [
        ['pvcreate', [device]],
        ['vgcreate', ['badvg', device]],
      ] as Array<[string, string[]]>) {
        const result = lab.leasehold(command, args);
        expect(result.status, result.stderr).toBe(5);
        expect(result.stderr).toMatch(message);
        expect(result.stderr).toMatch(/existing signatures? left on the device/);
        expect(digest(device)).toBe(before);
      }
    },
  );

  it('xfs (which needs a 300 MiB device): refused without -y/-f, named with its offset, the device unchanged', () => {
    const device = lab.addLoop(XFS_DEVICE_BYTES);
    run('mkfs.xfs', ['-q', '-f', device]);
    const before = digest(device);
    for (const [command, args] of [
      ['pvcreate', [device]],
      ['vgcreate', ['badvg', device]],
    ] as Array<[string, string[]]>) {
      const result = lab.leasehold(command, args);
      expect(result.status, result.stderr).toBe(5);
      expect(result.stderr).toMatch(/xfs \(UUID [^)]+\) signature detected on \S+ at offset 0\./);
      expect(result.stderr).toMatch(/existing signatures? left on the device/);
      expect(digest(device)).toBe(before);
    }
  });

  it('with -y the signature is wiped (as lvm answers yes) and the PV is one the real lvm reads', () => {
    const device = lab.addLoop(DEVICE_BYTES);
    run('mkfs.ext4', ['-q', '-F', device]);
    const result = lab.leasehold('pvcreate', ['-y', device]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Physical volume "${device}" successfully created.`);
    const wipefs = execFileSync('wipefs', ['-n', '-J', device], { encoding: 'utf8' });
    expect(wipefs).not.toContain('ext4');
    const pvs = lab.lvm('pvs', ['--noheadings', '-o', 'pv_name', device], { devices: [device] });
    expect(pvs.status, pvs.stderr).toBe(0);
    expect(pvs.stdout.trim()).toBe(device);
  });

  it('a sanlock lease area needs -ff even with -y, and is named', () => {
    const device = lab.addLoop(DEVICE_BYTES);
    execFileSync('sanlock', ['direct', 'init', '-s', `ls1:0:${device}:0`], { stdio: 'ignore' });
    const before = digest(device);
    for (const args of [[device], ['-y', device], ['-f', '-y', device]]) {
      const result = lab.leasehold('pvcreate', args);
      expect(result.status, result.stderr).toBe(5);
      expect(result.stderr).toContain(`sanlock delta lease area signature detected on ${device} at offset 0.`);
      expect(result.stderr).toContain(
        `Can't initialize physical volume "${device}" holding a sanlock lease area without -ff`,
      );
      expect(digest(device)).toBe(before);
    }
  });

  it('a PV of another VG: pvcreate needs -ff, vgcreate and vgextend refuse, nothing changes', () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.lvm('vgcreate', ['othervg', device], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    const pvcreate = lab.leasehold('pvcreate', [device], { devices: [device] });
    expect(pvcreate.status).toBe(5);
    expect(pvcreate.stderr).toBe(
      `  Can't initialize physical volume "${device}" of volume group "othervg" without -ff\n  ${device}: physical volume not initialized.\n`,
    );
    const vgcreate = lab.leasehold('vgcreate', ['newvg', device], { devices: [device] });
    expect(vgcreate.status).toBe(5);
    expect(vgcreate.stderr).toContain(`Physical volume '${device}' is already in volume group 'othervg'`);
    const ff = lab.leasehold('pvcreate', ['-ff', device], { devices: [device] });
    expect(ff.status).toBe(5);
    expect(ff.stderr).toContain('Really INITIALIZE physical volume');
    expect(digest(device)).toBe(before);
  });
});

describe('damaged metadata: reads name the device, the offset and the problem, and write nothing', () => {
  function lvmVg(name: string): string {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.lvm('vgcreate', [name, device], { devices: [device] }).status).toBe(0);
    expect(
      lab.lvm('lvcreate', ['--driverloaded', 'n', '-an', '-Zn', '-n', 'lv', '-l', '2', name], { devices: [device] })
        .status,
    ).toBe(0);
    return device;
  }

  function textOffset(device: string): number {
    const header = peek(device, 4096, 512);
    return 4096 + Number(header.readBigUInt64LE(40));
  }

  it('a flipped text byte: "Checksum error on DEV at offset N", VG not found (5)', () => {
    const device = lvmVg('dmgtext');
    const offset = textOffset(device);
    flipByte(device, offset + 20);
    const before = digest(device);
    const result = lab.leasehold('vgs', ['dmgtext'], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toContain(`Checksum error on ${device} at offset ${offset}`);
    expect(result.stderr).toContain('Volume group "dmgtext" not found');
    for (const command of ['pvs', 'lvs', 'vgck'])
      lab.leasehold(command, command === 'pvs' ? [] : ['dmgtext'], { devices: [device] });
    expect(digest(device)).toBe(before);
  });

  it('a flipped mda header byte: "wrong checksum ... in mda header on DEV at 4096"', () => {
    const device = lvmVg('dmghdr');
    flipByte(device, 4096 + 48);
    const before = digest(device);
    const result = lab.leasehold('vgs', ['dmghdr'], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(new RegExp(`wrong checksum [0-9a-f]+ in mda header on ${device} at 4096`));
    expect(digest(device)).toBe(before);
  });

  it('a flipped label byte: the device is no PV, and the warning says where and why', () => {
    const device = lvmVg('dmglabel');
    flipByte(device, 512 + 40);
    const before = digest(device);
    const result = lab.leasehold('pvs', [device], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toContain(`${device}: Label checksum incorrect at sector 1`);
    expect(result.stderr).toContain(`Failed to find physical volume "${device}".`);
    expect(digest(device)).toBe(before);
  });
});

describe('names, space, metadata area, missing and duplicate PVs', () => {
  it("VG and LV names follow lvm's rules (exit 3, nothing written)", () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.leasehold('vgcreate', ['okvg', device], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    const long = 'x'.repeat(128);
    const cases: Array<[string, string[], string]> = [
      ['vgcreate', ['a%b', device], 'New volume group name "a%b" is invalid.'],
      ['vgcreate', [long, device], `New volume group name "${long}" is invalid.`],
      ['vgcreate', ['..', device], 'New volume group name ".." is invalid.'],
      ['vgrename', ['okvg', 'bad/name'], 'New volume group name "bad/name" is invalid.'],
      ['lvcreate', ['-n', 'a b', '-l', '1', 'okvg'], 'Logical volume name "a b" is invalid.'],
      ['lvcreate', ['-n', long, '-l', '1', 'okvg'], `Logical volume name "${long}" is invalid.`],
      [
        'lvcreate',
        ['-n', 'snapshot1', '-l', '1', 'okvg'],
        'Names starting "snapshot" are reserved. Please choose a different LV name.',
      ],
      [
        'lvcreate',
        ['-n', 'x_mlog', '-l', '1', 'okvg'],
        'Names including "_mlog" are reserved. Please choose a different LV name.',
      ],
    ];
    for (const [command, args, message] of cases) {
      const result = lab.leasehold(command, args, { devices: [device] });
      expect(result.status, `${command} ${args.join(' ')}: ${result.stderr}`).toBe(3);
      expect(result.stderr).toContain(message);
    }
    expect(digest(device)).toBe(before);
  });

  it("too little free space: lvm's message, exit 5, nothing written", () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.leasehold('vgcreate', ['fullvg', device], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    const result = lab.leasehold('lvcreate', ['-n', 'big', '-l', '1000', 'fullvg'], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toBe('  Volume group "fullvg" has insufficient free space (15 extents): 1000 required.\n');
    const extend = lab.leasehold('lvcreate', ['-n', 'big', '-L', '1g', 'fullvg'], { devices: [device] });
    expect(extend.status).toBe(5);
    expect(digest(device)).toBe(before);
  });

  it('a full metadata area: refused before anything is written', () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(
      lab.leasehold('pvcreate', ['--metadatasize', '32k', '--dataalignment', '4k', device], { devices: [device] })
        .status,
    ).toBe(0);
    expect(lab.leasehold('vgcreate', ['tinyvg', device], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    const tags = Array.from({ length: 20 }, (_, i) => ['--addtag', `t${i}_${'x'.repeat(1000)}`]).flat();
    const result = lab.leasehold('lvcreate', ['-n', 'tagged', '-l', '1', ...tags, 'tinyvg'], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(/exceeds maximum metadata size|too small/);
    expect(result.stderr).toContain(device);
    expect(digest(device)).toBe(before);
  });

  it('a missing PV: warned by UUID, changes refused, the present PV unchanged', () => {
    const a = lab.addLoop(DEVICE_BYTES);
    const b = lab.addLoop(DEVICE_BYTES);
    expect(lab.leasehold('vgcreate', ['twovg', a, b], { devices: [a, b] }).status).toBe(0);
    const before = digest(a);
    const result = lab.leasehold('lvcreate', ['-n', 'lv', '-l', '1', 'twovg'], { devices: [a] });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(/Couldn't find device with uuid [\w-]{38}\./);
    expect(result.stderr).toContain('Cannot change VG twovg while PVs are missing.');
    const vgs = lab.leasehold('vgs', ['-o', 'vg_name,vg_attr,vg_missing_pv_count', '--noheadings', 'twovg'], {
      devices: [a],
    });
    expect(vgs.stdout.trim().split(/\s+/)).toEqual(['twovg', 'wz-pn-', '1']);
    expect(digest(a)).toBe(before);
  });

  it('a duplicate PV (the same PV seen twice): warned, changes refused, nothing written', () => {
    const a = lab.addLoop(DEVICE_BYTES);
    expect(lab.leasehold('vgcreate', ['dupvg', a], { devices: [a] }).status).toBe(0);
    const copy = lab.addLoop(DEVICE_BYTES);
    execFileSync('dd', [`if=${a}`, `of=${copy}`, 'bs=1M', 'status=none', 'oflag=direct']);
    const before = [digest(a), digest(copy)];
    const result = lab.leasehold('lvcreate', ['-n', 'lv', '-l', '1', 'dupvg'], { devices: [a, copy] });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(new RegExp(`Found duplicate PV [\\w-]{38}: using ${a} not ${copy}\\.`));
    expect(result.stderr).toContain('Cannot change VG dupvg while PVs appear on duplicate devices.');
    expect([digest(a), digest(copy)]).toEqual(before);
  });

  it("tags follow lvm's rules (exit 3, nothing written)", () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.leasehold('vgcreate', ['tagvg', device], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    for (const tag of ['-lead', 'sp ace', 'x'.repeat(1025), 'semi;colon']) {
      const result = lab.leasehold('lvcreate', ['-n', 'lv', '-l', '1', '--addtag', tag, 'tagvg'], {
        devices: [device],
      });
      expect(result.status, tag).toBe(3);
      expect(result.stderr).toContain('Invalid argument for --addtag');
    }
    expect(digest(device)).toBe(before);
  });

  it('a shared (sanlock) VG is reported but not changed without its VG lease, as lvm without lvmlockd', () => {
    const device = lab.addLoop(DEVICE_BYTES);
    expect(lab.lvm('vgcreate', ['shvg', device], { devices: [device] }).status).toBe(0);
    const file = join(lab.dir, 'shvg.vg');
    expect(lab.lvm('vgcfgbackup', ['-f', file, 'shvg'], { devices: [device] }).status).toBe(0);
    const text = readFileSync(file, 'utf8').replace(
      '\textent_size = ',
      '\tlock_type = "sanlock"\n\tlock_args = "1.0.0:lvmlock"\n\textent_size = ',
    );
    writeFileSync(file, text);
    expect(lab.lvm('vgcfgrestore', ['--driverloaded', 'n', '-f', file, 'shvg'], { devices: [device] }).status).toBe(0);
    const before = digest(device);
    const vgs = lab.leasehold('vgs', ['--noheadings', '-o', 'vg_name,vg_attr,vg_lock_type,vg_lock_args'], {
      devices: [device],
    });
    expect(vgs.stdout.trim().split(/\s+/)).toEqual(['shvg', 'wz--ns', 'sanlock', '1.0.0:lvmlock']);
    const result = lab.leasehold('lvcreate', ['-n', 'lv', '-l', '1', 'shvg'], { devices: [device] });
    expect(result.status).toBe(5);
    expect(result.stderr).toContain('Cannot access VG shvg with lock type sanlock that requires lvmlockd.');
    expect(digest(device)).toBe(before);
  });
});
