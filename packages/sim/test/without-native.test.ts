/**
 * The lease layer and the simulator load and run where the native addon is not built: a copy of
 * the built packages (package.json + dist) without packages/native/build, and a child Node that
 * imports @leasehold/lease and @leasehold/sim from it and runs a delta-lease scenario with a crash.
 * The control import of '@leasehold/disk/direct' must fail there, or the copy proves nothing.
 * Needs the build (`tsc -b`, which `npm test` runs first).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
/** The workspace packages the lease layer and the simulator need, and native (copied without its build). */
const COPIED_PACKAGES = ['errors', 'native', 'ondisk', 'disk', 'lease', 'host-core', 'sim'];
/** Third-party packages the simulator imports, linked from the repo's node_modules. */
const LINKED_DEPENDENCIES = ['fast-check', 'pure-rand'];
const CHILD_TIMEOUT_MS = 30_000;

const PROBE = `
import * as lease from '@leasehold/lease';
import * as sim from '@leasehold/sim';
import { MemoryDisk } from '@leasehold/disk';

let directError = 'loaded';
try {
  await import('@leasehold/disk/direct');
} catch (error) {
  directError = String(error && error.message);
}
const member = (machine, hostId, extra) => ({
  machine, hostId, nameGroup: hostId, ioTimeoutSeconds: 1, startAtSeconds: 0, clockOffsetSeconds: 1000 + hostId, ...extra,
});
const result = await sim.runDeltaScenario({
  seed: 7, sectorSize: 512, initIoTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10, watchdogs: true,
  maxLatencySeconds: 0.02, latencyQuantumSeconds: 0, durationSeconds: 80,
  members: [member('a', 1), member('o', 2), member('b', 1, { startAtSeconds: 10, rejoinAfterSeconds: 1 })],
  faults: [{ kind: 'crash', machine: 'a', atSeconds: 20.3, sameName: false, reboot: false }],
});
console.log(JSON.stringify({
  heldDeltaLease: typeof lease.HeldDeltaLease,
  memoryDiskSectorSize: new MemoryDisk({ sectorSize: 512, sizeBytes: 1 << 20 }).sectorSize,
  violations: result.violations.map(sim.describeViolation),
  owners: [...new Set(result.observations.ownership.intervals.map((interval) => interval.owner))].sort(),
  directError,
}));
`;

interface ProbeOutput {
  heldDeltaLease: string;
  memoryDiskSectorSize: number;
  violations: string[];
  owners: string[];
  directError: string;
}

describe('without the native addon', () => {
  let root = '';

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'leasehold-no-native-'));
    const scope = join(root, 'node_modules', '@leasehold');
    mkdirSync(scope, { recursive: true });
    for (const name of COPIED_PACKAGES) {
      const from = join(REPO, 'packages', name);
      if (!existsSync(join(from, 'dist', 'index.js'))) throw new Error(`packages/${name} is not built: run npx tsc -b`);
      cpSync(join(from, 'package.json'), join(scope, name, 'package.json'));
      cpSync(join(from, 'dist'), join(scope, name, 'dist'), { recursive: true });
    }
    for (const name of LINKED_DEPENDENCIES)
      symlinkSync(join(REPO, 'node_modules', name), join(root, 'node_modules', name), 'dir');
    writeFileSync(join(root, 'probe.mjs'), PROBE);
  });

  afterAll(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('@leasehold/lease and @leasehold/sim import and run a scenario; @leasehold/disk/direct does not load', () => {
    expect(existsSync(join(root, 'node_modules', '@leasehold', 'native', 'build'))).toBe(false);
    const child = spawnSync(process.execPath, ['probe.mjs'], {
      cwd: root,
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS,
    });
    expect(child.status, child.stderr).toBe(0);
    const output = JSON.parse(child.stdout) as ProbeOutput;
    expect(output.heldDeltaLease).toBe('function');
    expect(output.memoryDiskSectorSize).toBe(512);
    expect(output.violations).toEqual([]);
    // a held host_id 1, then b took it over after a's crash; o held host_id 2 throughout.
    expect(output.owners).toEqual(['a#1', 'b#1', 'o#1']);
    expect(output.directError).toContain('leasehold_native.node');
  });
});
