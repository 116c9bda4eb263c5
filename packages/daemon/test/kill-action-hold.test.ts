/**
 * KillAction's hand-over of persistent leases (the activation loss handler's hook): the resources a
 * handler takes are not left to the kill command or the admin, and the campaign reports the
 * lockspace clean only once the handler lets go of its hold, and once every victim process is gone.
 */
import { spawn } from 'node:child_process';
import { silentLogger } from '@leasehold/lease';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStat } from '../src/clients/proc.js';
import { ProcessWatch } from '../src/clients/process-watch.js';
import { KillAction } from '../src/leases/kill-action.js';
import { waitFor } from './support/harness.js';

let watch: ProcessWatch | undefined;
let kill: KillAction | undefined;

afterEach(() => {
  kill?.close();
  watch?.close();
});

function setUp(): { kill: KillAction; cleaned: string[] } {
  const cleaned: string[] = [];
  watch = new ProcessWatch();
  kill = new KillAction(watch, silentLogger, (lockspace) => cleaned.push(lockspace));
  return { kill, cleaned };
}

describe('KillAction: persistent users handed over, holds', () => {
  it('a handler takes its resources and holds the campaign until it lets go; the rest stay pending', () => {
    const { kill, cleaned } = setUp();
    const releases: Array<() => void> = [];
    kill.setPersistentHandler((lockspace, resources) => {
      const taken = resources.filter((resource) => resource.startsWith('lv-'));
      if (taken.length > 0) releases.push(kill.hold(lockspace));
      return taken;
    });
    kill.start({
      lockspace: 'vg1',
      processes: [],
      persistentResources: ['lv-a', 'lv-b'],
      command: undefined,
      graceSeconds: 0,
    });
    // Only the hold keeps it: no persistent user is left to the admin.
    expect(kill.pendingCount('vg1')).toBe(1);
    expect(cleaned).toEqual([]);
    releases[0]?.();
    expect(cleaned).toEqual(['vg1']);

    // A resource the handler does not take is left to the kill command (none here: the admin).
    kill.start({
      lockspace: 'vg2',
      processes: [],
      persistentResources: ['lv-c', 'other'],
      command: undefined,
      graceSeconds: 0,
    });
    releases[1]?.();
    expect(cleaned).toEqual(['vg1']);
    expect(kill.pendingCount('vg2')).toBe(1);
    kill.dropPersistent('vg2');
    expect(cleaned).toEqual(['vg1', 'vg2']);
  });

  it('a hold taken before the campaign starts is waited for, as are the victims it adds later', async () => {
    const { kill, cleaned } = setUp();
    const release = kill.hold('vg3');
    kill.start({ lockspace: 'vg3', processes: [], persistentResources: [], command: undefined, graceSeconds: 0 });
    expect(cleaned).toEqual([]);
    // A process found later (an LV's opener) joins the campaign: SIGTERM, then SIGKILL (grace 0).
    const victim = spawn('sh', ['-c', 'trap "" TERM; while :; do sleep 0.1; done'], { stdio: 'ignore' });
    const stat = await waitFor('the victim to run', () =>
      victim.pid === undefined ? undefined : readProcStat(victim.pid),
    );
    kill.start({
      lockspace: 'vg3',
      processes: [{ pid: stat.pid, startTime: stat.startTime }],
      persistentResources: [],
      command: undefined,
      graceSeconds: 0,
    });
    release();
    expect(cleaned).toEqual([]);
    const exit = await new Promise<NodeJS.Signals | null>((resolve) =>
      victim.once('exit', (_code, signal) => resolve(signal)),
    );
    expect(exit).toBe('SIGKILL');
    await waitFor('the campaign to finish', () => (cleaned.length > 0 ? true : undefined), 5000);
    expect(cleaned).toEqual(['vg3']);
    expect(kill.pendingCount('vg3')).toBe(0);
  });
});
