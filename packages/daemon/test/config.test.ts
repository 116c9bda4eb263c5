/** Unit tests of the daemon's config file, host-id.conf, and flag precedence. */
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultKillGraceSeconds, parseConfigText, resolveDaemonConfig } from '../src/config/daemon-config.js';
import { parseHostIdConf } from '../src/config/host-id-conf.js';
import type { DaemonError } from '@leasehold/protocol';
import { TestDir } from './support/harness.js';

const dir = new TestDir();
afterAll(() => dir.cleanup());

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as DaemonError).code;
  }
}

describe('leasehold.conf', () => {
  it('parses every setting, comments and blank lines', () => {
    const settings = parseConfigText(
      '# comment\n\nio_timeout = 5\nwatchdog_fire_timeout=30\nkill_grace_seconds = 12\nsocket_group = disk\nhost_name = node-a\nkill_command = /usr/bin/stop-all --now\nkill_command.vg0 = /usr/bin/stop-vg0\n',
      'test.conf',
    );
    expect(settings).toMatchObject({
      ioTimeoutSeconds: 5,
      watchdogFireTimeoutSeconds: 30,
      killGraceSeconds: 12,
      socketGroup: 'disk',
      hostName: 'node-a',
    });
    expect(settings.killCommandFallback).toEqual(['/usr/bin/stop-all', '--now']);
    expect(settings.killCommandByLockspace.get('vg0')).toEqual(['/usr/bin/stop-vg0']);
  });

  it('refuses unknown settings and bad values, naming the line', () => {
    expect(codeOf(() => parseConfigText('nope = 1', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseConfigText('io_timeout = 0', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseConfigText('io_timeout', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseConfigText('kill_command = relative', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseConfigText(`host_name = ${'x'.repeat(49)}`, 'x'))).toBe('BAD_CONFIG');
    expect(() => parseConfigText('nope = 1', 'f.conf')).toThrow(/f\.conf:1/);
  });

  it("accepts the volume commands' settings in the same file and leaves them to the commands", () => {
    const settings = parseConfigText(
      'io_timeout = 3\ndevices = /dev/sdb /dev/sdc\nlocking_dir = /run/lock/lvm\nmetadata_cache_dir = none\n',
      'shared.conf',
    );
    expect(settings.ioTimeoutSeconds).toBe(3);
    expect(codeOf(() => parseConfigText('device = /dev/sdb', 'x'))).toBe('BAD_CONFIG');
  });

  it('flags win over the file, the file over the defaults; kill grace follows W like sanlock', () => {
    const path = dir.file('leasehold.conf');
    writeFileSync(path, 'io_timeout = 5\nwatchdog_fire_timeout = 40\n');
    const fromFile = resolveDaemonConfig({ config: path });
    expect(fromFile).toMatchObject({
      ioTimeoutSeconds: 5,
      watchdogFireTimeoutSeconds: 40,
      killGraceSeconds: 15,
      watchdog: 'companion',
    });
    const fromFlags = resolveDaemonConfig({ config: path, ioTimeout: 2, watchdogFireTimeout: 60, watchdog: 'none' });
    expect(fromFlags).toMatchObject({
      ioTimeoutSeconds: 2,
      watchdogFireTimeoutSeconds: 60,
      killGraceSeconds: 40,
      watchdog: 'none',
    });
    expect(defaultKillGraceSeconds(10)).toBe(0);
    expect(codeOf(() => resolveDaemonConfig({ config: dir.file('missing.conf') }))).toBe('BAD_CONFIG');
  });

  it('activation settings: backend, device_dir, refresh_command; flags win; bad values refused', () => {
    const path = dir.file('activation.conf');
    writeFileSync(
      path,
      'activation_backend = loop\ndevice_dir = /run/lh-dev/\nrefresh_command = /usr/sbin/leasehold lvchange --refresh\n',
    );
    expect(resolveDaemonConfig({ config: path })).toMatchObject({
      activationBackend: 'loop',
      deviceDir: '/run/lh-dev',
      refreshCommand: ['/usr/sbin/leasehold', 'lvchange', '--refresh'],
    });
    expect(resolveDaemonConfig({ config: path, activationBackend: 'none', deviceDir: '/tmp/d' })).toMatchObject({
      activationBackend: 'none',
      deviceDir: '/tmp/d',
    });
    const empty = dir.file('empty.conf');
    writeFileSync(empty, '');
    expect(resolveDaemonConfig({ config: empty })).toMatchObject({
      activationBackend: undefined,
      deviceDir: '/dev',
      refreshCommand: undefined,
    });
    expect(codeOf(() => parseConfigText('activation_backend = lvm', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseConfigText('device_dir = dev', 'x'))).toBe('BAD_CONFIG');
    expect(codeOf(() => resolveDaemonConfig({ config: path, activationBackend: 'zfs' }))).toBe('BAD_CONFIG');
  });
});

describe('host-id.conf', () => {
  it('maps lockspaces, with * for the rest', () => {
    const map = parseHostIdConf('# ids\n* = 7\nvg0 = 12\n', 'h');
    expect(map.lookup('vg0')).toBe(12);
    expect(map.lookup('other')).toBe(7);
    expect(parseHostIdConf('vg0 = 3', 'h').lookup('vg1')).toBeUndefined();
  });

  it('refuses bad ids and duplicates', () => {
    expect(codeOf(() => parseHostIdConf('vg0 = 0', 'h'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseHostIdConf('vg0 = 2001', 'h'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseHostIdConf('vg0 = 1\nvg0 = 2', 'h'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parseHostIdConf('* = 1\n* = 2', 'h'))).toBe('BAD_CONFIG');
  });
});
