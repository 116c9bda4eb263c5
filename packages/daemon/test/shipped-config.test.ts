/**
 * The config files that scripts/install and the .deb put into /etc/leasehold: the default
 * leasehold.conf must be accepted as shipped, every setting it shows must be accepted when
 * uncommented, the values it shows as defaults must be the daemon's defaults, and it must show every
 * setting docs/daemon.md lists.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText, resolveDaemonConfig, type DaemonConfig } from '../src/config/daemon-config.js';
import { parseHostIdConf } from '../src/config/host-id-conf.js';
import { TestDir } from './support/harness.js';

const REPO = new URL('../../../', import.meta.url);
const SHIPPED_CONF = readFileSync(new URL('leasehold.conf.example', REPO), 'utf8');
const SHIPPED_HOST_ID_CONF = readFileSync(new URL('host-id.conf.example', REPO), 'utf8');
/** A commented-out setting: `#key = value` (prose comments have a space after '#'). */
const COMMENTED_SETTING = /^#([a-z_][a-z0-9_.]*|\*) = (.*)$/gm;
/** Settings the file shows as examples, not defaults (the daemon has no value for them). */
const EXAMPLE_ONLY_KEYS = new Set([
  'socket_group',
  'host_name',
  'kill_command',
  'kill_command.vg0',
  'activation_backend',
  'refresh_command',
]);

const dir = new TestDir();
afterAll(() => dir.cleanup());

function uncommented(text: string): string {
  return text.replace(COMMENTED_SETTING, '$1 = $2');
}

function shownKeys(text: string): string[] {
  return [...text.matchAll(COMMENTED_SETTING)].map((match) => match[1] ?? '');
}

function resolveWith(name: string, text: string): DaemonConfig {
  const path = dir.file(name);
  writeFileSync(path, text);
  return resolveDaemonConfig({ config: path });
}

describe('the shipped leasehold.conf', () => {
  it('is accepted as shipped and changes nothing', () => {
    const shipped = resolveWith('shipped.conf', SHIPPED_CONF);
    const empty = resolveWith('empty.conf', '');
    expect({ ...shipped, configPath: '' }).toEqual({ ...empty, configPath: '' });
  });

  it('accepts every setting it shows once uncommented', () => {
    const keys = shownKeys(SHIPPED_CONF);
    expect(keys.length).toBeGreaterThanOrEqual(10);
    const settings = parseConfigText(uncommented(SHIPPED_CONF), 'uncommented.conf');
    expect(settings.killCommandFallback).toEqual(['/usr/local/sbin/stop-lease-users']);
    expect(settings.killCommandByLockspace.get('vg0')).toEqual(['/usr/local/sbin/stop-vg0-users']);
  });

  it('shows the daemon defaults as its values', () => {
    const defaultsOnly = SHIPPED_CONF.split('\n')
      .filter((line) => {
        const key = /^#([a-z_][a-z0-9_.]*) = /.exec(line)?.[1];
        return key !== undefined && !EXAMPLE_ONLY_KEYS.has(key);
      })
      .map((line) => line.slice(1))
      .join('\n');
    expect(defaultsOnly.split('\n').length).toBe(shownKeys(SHIPPED_CONF).length - EXAMPLE_ONLY_KEYS.size);
    const uncommentedDefaults = resolveWith('defaults.conf', defaultsOnly);
    const empty = resolveWith('empty.conf', '');
    expect({ ...uncommentedDefaults, configPath: '' }).toEqual({ ...empty, configPath: '' });
  });

  it('shows every setting docs/daemon.md lists', () => {
    const daemonDoc = readFileSync(new URL('docs/daemon.md', REPO), 'utf8');
    const section = daemonDoc.slice(daemonDoc.indexOf('## Configuration file'), daemonDoc.indexOf('## The socket'));
    const documented = [...section.matchAll(/^\| `([a-z_.A-Z]+)` \|/gm)].map((match) =>
      (match[1] ?? '').replace('.LOCKSPACE', '.vg0'),
    );
    expect(documented.length).toBeGreaterThanOrEqual(10);
    expect(shownKeys(SHIPPED_CONF)).toEqual(expect.arrayContaining(documented));
  });
});

describe('the shipped host-id.conf.example', () => {
  it('maps what it shows once uncommented', () => {
    const map = parseHostIdConf(uncommented(SHIPPED_HOST_ID_CONF), 'host-id.conf');
    expect(map.lookup('vg0')).toBe(12);
    expect(map.lookup('lvm_vg1')).toBe(3);
    expect(map.lookup('other')).toBe(7);
  });
});
