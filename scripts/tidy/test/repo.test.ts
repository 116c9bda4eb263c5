/**
 * The repository itself: tidy, and what client, companion, lease and simulator load. A client program
 * and the companion reach the protocol package but never the daemon or SQLite (the daemon does reach
 * SQLite, so the graph is followed for real); lease and simulator never reach the native addon.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closureOf } from '../checks/closure.js';
import { formatFinding } from '../finding.js';
import { runTidy } from '../tidy.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const { tree, facts, findings } = runTidy(REPO);
const loads = (entry: string): string[] => [...closureOf(tree, entry, facts)];
const inPackage =
  (dir: string) =>
  (id: string): boolean =>
    id.startsWith(`packages/${dir}/`);

describe('the repository', () => {
  it('passes the tidy check', () => {
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('a client program loads the protocol, not the daemon, SQLite or the native addon', () => {
    const client = loads('@leasehold/client');
    expect(client).toContain('packages/protocol/src/index.ts');
    expect(client).toContain('node:net');
    expect(client.filter(inPackage('daemon'))).toEqual([]);
    expect(client.filter(inPackage('native'))).toEqual([]);
    expect(client).not.toContain('better-sqlite3');
  });

  it('the companion loads the companion protocol and the addon, not the daemon or SQLite', () => {
    const watchdog = loads('@leasehold/watchdog');
    expect(watchdog).toContain('packages/protocol/src/companion.ts');
    expect(watchdog).toContain('packages/native/src/index.ts');
    expect(watchdog.filter(inPackage('daemon'))).toEqual([]);
    expect(watchdog).not.toContain('better-sqlite3');
  });

  it('the daemon does load SQLite (the graph is followed through the packages)', () => {
    expect(loads('@leasehold/daemon')).toContain('better-sqlite3');
  });

  it('lease and simulator load the disk layer without its O_DIRECT part or the addon', () => {
    for (const entry of ['@leasehold/lease', '@leasehold/sim']) {
      const modules = loads(entry);
      expect(modules).toContain('packages/disk/src/memory-disk.ts');
      expect(modules).not.toContain('packages/disk/src/direct.ts');
      expect(modules).not.toContain('packages/disk/src/direct-disk.ts');
      expect(modules.filter(inPackage('native'))).toEqual([]);
    }
  });
});
