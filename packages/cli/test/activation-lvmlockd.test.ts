/**
 * Activation in a mixed cluster: host 1 runs the real lvmlockd + sanlock (testkit, its own mount
 * namespace, lvm's activation disabled), host 2 runs the leasehold daemon (activation backend none)
 * and leasehold's lvchange, on one VG made by the real `vgcreate --shared`. While leasehold holds an
 * LV (-aey) the real `lvchange -aey` and `-asy` are refused ("LV locked by other host"); while lvmlockd
 * holds it, leasehold's are refused naming host 1 by its sanlock host name; `-asy` on both sides
 * works, and then `-aey` on either side is refused. lvs on the leasehold host shows who holds it.
 * Needs root, lvm2, lvm2-lockd, sanlock (CI installs them; the testkit fails loudly without).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LvmlockdCluster, type LvmlockdHost } from '@leasehold/testkit';
import { CLI_PATH, TestDaemon, TestDir, waitSeesLive } from '../../daemon/test/support/harness.js';

const MIB = 1024 * 1024;
const VG = 'mxAct';
/** lvm's exit status for a failed command (ECMD_FAILED). */
const LVM_FAILED = 5;

let cluster: LvmlockdCluster;
let h1: LvmlockdHost;
let dir: TestDir;
let daemon: TestDaemon;
let env: NodeJS.ProcessEnv;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function lh(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function ok(args: string[]): Promise<string> {
  const result = await lh(args);
  if (result.status !== 0)
    throw new Error(
      `leasehold ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}\n${daemon.log()}`,
    );
  return result.stdout;
}

async function holders(lv: string): Promise<string> {
  return (await ok(['lvs', '--noheadings', '-o', 'lock_holders', `${VG}/${lv}`])).trim();
}

async function expectLvmRefused(args: string[]): Promise<void> {
  const result = await h1.lvm(args);
  expect(result.status, `lvm ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(LVM_FAILED);
  expect(result.stderr).toContain(`LV locked by other host: ${VG}/`);
}

beforeAll(async () => {
  cluster = LvmlockdCluster.create({ ioTimeoutSeconds: 1 });
  dir = new TestDir();
  try {
    const disk = cluster.addDisk('pv1', 512 * MIB);
    h1 = await cluster.startHost(1);
    await cluster.vgcreateShared(h1, VG, disk);
    await h1.lvmOk(['lvcreate', '-an', '-n', 'm1', '-L', '8m', VG]);
    mkdirSync(dir.file('lock'));
    const hostIdFile = dir.file('host-id.conf');
    writeFileSync(hostIdFile, '* = 2\n');
    const conf = dir.file('leasehold.conf');
    writeFileSync(
      conf,
      `io_timeout = 1\ndevices = ${disk.device}\nlocking_dir = ${dir.file('lock')}\nhost_id_file = ${hostIdFile}\n`,
    );
    daemon = await new TestDaemon(dir, {
      name: 'lh2',
      hostIdFile,
      logLevel: 'info',
      configText: 'activation_backend = none\n',
    }).start();
    env = { LEASEHOLD_SOCKET: daemon.socketPath, LEASEHOLD_CONFIG: conf };
    await ok(['lockstart', '--wait', VG]);
    // The refusals below name lvmlockd's host LIVE: this daemon must have seen it renew.
    await waitSeesLive(env, `lvm_${VG}`, [1]);
  } catch (error) {
    await cluster.destroy().catch(() => undefined);
    throw error;
  }
}, 240_000);

afterAll(async () => {
  await lh(['lvchange', '-an', `${VG}/m1`]).catch(() => undefined);
  await lh(['lockstop', '--wait']).catch(() => undefined);
  await daemon?.kill().catch(() => undefined);
  dir?.cleanup();
  await cluster?.destroy();
}, 180_000);

describe('activation between leasehold and the real lvmlockd', () => {
  it('leasehold -aey: the real lvchange -aey and -asy are refused; after leasehold -an they work', async () => {
    await ok(['lvchange', '-aey', `${VG}/m1`]);
    expect(await holders('m1')).toBe('2:EX');
    await expectLvmRefused(['lvchange', '-aey', `${VG}/m1`]);
    await expectLvmRefused(['lvchange', '-asy', `${VG}/m1`]);
    await ok(['lvchange', '-an', `${VG}/m1`]);
    expect(await holders('m1')).toBe('');
    await h1.lvmOk(['lvchange', '-aey', `${VG}/m1`]);
  }, 120_000);

  it('lvmlockd -aey: leasehold lvchange -aey and -asy are refused naming host 1', async () => {
    expect(await holders('m1')).toBe('1:EX');
    const long = (await ok(['lvs', '--noheadings', '-o', 'lock_holders_long', `${VG}/m1`])).trim();
    expect(long).toBe('1:EX:lvmlockd-host1:LIVE');
    for (const mode of ['-aey', '-asy']) {
      const refused = await lh(['lvchange', mode, `${VG}/m1`]);
      expect(refused.status, refused.stdout + refused.stderr).toBe(LVM_FAILED);
      expect(refused.stderr).toContain(`LV locked by other host: ${VG}/m1`);
      expect(refused.stderr).toMatch(/host_id 1 "lvmlockd-host1" \(EX, LIVE/);
    }
    expect((await ok(['lvs', '--noheadings', '-o', 'lock_mode', `${VG}/m1`])).trim()).toBe('');
    await h1.lvmOk(['lvchange', '-an', `${VG}/m1`]);
  }, 120_000);

  it('-asy on both sides works; then -aey on either side is refused', async () => {
    await h1.lvmOk(['lvchange', '-asy', `${VG}/m1`]);
    await ok(['lvchange', '-asy', `${VG}/m1`]);
    expect(await holders('m1')).toBe('1:SH,2:SH');
    expect((await ok(['lvs', '--noheadings', '-o', 'lock_mode', `${VG}/m1`])).trim()).toBe('SH');
    // leasehold's convert to EX fails naming the other SH holder; it keeps its SH.
    const convert = await lh(['lvchange', '-aey', `${VG}/m1`]);
    expect(convert.status, convert.stdout + convert.stderr).toBe(LVM_FAILED);
    expect(convert.stderr).toMatch(/host_id 1 "lvmlockd-host1" \(SH, LIVE/);
    expect(await holders('m1')).toBe('1:SH,2:SH');
    await expectLvmRefused(['lvchange', '-aey', `${VG}/m1`]);
    await ok(['lvchange', '-an', `${VG}/m1`]);
    await h1.lvmOk(['lvchange', '-an', `${VG}/m1`]);
    expect(await holders('m1')).toBe('');
  }, 120_000);
});
