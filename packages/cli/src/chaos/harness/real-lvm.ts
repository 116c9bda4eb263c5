/**
 * The real lvm2's view of the chaos VG after the run: `pvck` of the PV, and `vgs`/`lvs --shared`
 * (lvm reads a shared VG without lvmlockd only for reports; its vgck refuses one, so the reports and
 * pvck are the real tools' check here). A private LVM_SYSTEM_DIR that sees only the PV, nothing written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LVM_BINARY = '/usr/sbin/lvm';
const LVM_TIMEOUT_MS = 120_000;

/** Problems the real lvm found (empty: none); undefined when lvm2 is not installed. */
export function realLvmProblems(pvPath: string, vgName: string, lvs: readonly string[]): string[] | undefined {
  if (!existsSync(LVM_BINARY)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-chaos-lvm-'));
  try {
    mkdirSync(join(dir, 'etc'));
    mkdirSync(join(dir, 'lock'));
    writeFileSync(
      join(dir, 'etc', 'lvm.conf'),
      [
        'devices { use_devicesfile = 0  obtain_device_list_from_udev = 0 }',
        'backup { backup = 0  archive = 0 }',
        'activation { udev_sync = 0  udev_rules = 0  monitoring = 0 }',
        `global { use_lvmlockd = 0  locking_dir = "${join(dir, 'lock')}" }`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, LVM_SYSTEM_DIR: join(dir, 'etc'), LVM_SUPPRESS_FD_WARNINGS: '1' };
    const lvm = (args: string[]) => spawnSync(LVM_BINARY, args, { env, encoding: 'utf8', timeout: LVM_TIMEOUT_MS });
    const problems: string[] = [];
    const pvck = lvm(['pvck', pvPath]);
    if (pvck.status !== 0) problems.push(`lvm pvck ${pvPath} (${pvck.status}): ${pvck.stderr.trim()}`);
    const vgs = lvm(['vgs', '--shared', '--devices', pvPath, vgName]);
    if (vgs.status !== 0) problems.push(`lvm vgs --shared ${vgName} (${vgs.status}): ${vgs.stderr.trim()}`);
    const report = lvm(['lvs', '--shared', '--devices', pvPath, '--noheadings', '-o', 'lv_name', vgName]);
    if (report.status !== 0) {
      problems.push(`lvm lvs --shared ${vgName} (${report.status}): ${report.stderr.trim()}`);
    } else {
      const seen = new Set(report.stdout.split('\n').map((line) => line.trim()));
      const missing = lvs.filter((lv) => !seen.has(lv));
      if (missing.length > 0) problems.push(`lvm lvs --shared ${vgName} does not list ${missing.join(', ')}`);
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
