/**
 * The command registry and the argv pre-dispatch: every registered command loads, matches its
 * entry (name, aliases, summary), and argv (or the name a link was called by) picks the right one.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, isGroup, isSelfParsing, type LeafSpec } from '../src/command-registry.js';
import { cliArgs, linkedCommandName, pickRoute, routeKey, TOP_ROUTE_KEY } from '../src/dispatch.js';

function leaves(): Array<{ path: string; spec: LeafSpec }> {
  return COMMANDS.flatMap((spec) =>
    isGroup(spec)
      ? spec.subcommands.map((sub) => ({ path: `${spec.name} ${sub.name}`, spec: sub }))
      : [{ path: spec.name, spec }],
  );
}

describe('command registry', () => {
  it.each(leaves())('$path loads and agrees with its entry', async ({ spec }) => {
    // modules may sit in subdirectories (lvm/reports), which vite's variable imports do not cover
    const namespace = (await import(/* @vite-ignore */ `../src/commands/${spec.module}.ts`)) as Record<string, unknown>;
    const command = namespace[spec.exportName] as
      | { command?: string | string[]; aliases?: string | string[]; describe?: string }
      | undefined;
    expect(command, `${spec.module} exports ${spec.exportName}`).toBeTypeOf('object');
    if (command === undefined || isSelfParsing(command as never)) return;
    const usage = Array.isArray(command.command) ? command.command[0] : command.command;
    expect(usage?.split(' ')[0]).toBe(spec.name);
    expect([command.aliases ?? []].flat()).toEqual([...(spec.aliases ?? [])]);
    expect(command.describe).toBe(spec.summary);
  });

  it('has unique names and aliases at each level', () => {
    for (const level of [COMMANDS, ...COMMANDS.filter(isGroup).map((g) => g.subcommands)]) {
      const words = level.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])]);
      expect(new Set(words).size).toBe(words.length);
    }
  });
});

describe('pickRoute', () => {
  it('finds a leaf under a group, skipping options, and where its arguments start', () => {
    const route = pickRoute(COMMANDS, ['direct', '--json', 'dump', 'img:0', '--json']);
    expect(route.leaf?.module).toBe('direct-dump');
    expect(route.restIndex).toBe(3);
    expect(routeKey(route)).toBe('direct-dump');
  });

  it('accepts an alias and names the route by the canonical name', () => {
    const route = pickRoute(COMMANDS, ['direct', 'read_leader', '-s', 'x']);
    expect(route.leaf?.name).toBe('read-leader');
    expect(routeKey(route)).toBe('direct-read-leader');
  });

  it('loads nothing for help, version, a bare group, an unknown word or words after --', () => {
    for (const args of [
      [],
      ['--help'],
      ['--version'],
      ['direct'],
      ['direct', '--help'],
      ['nosuch', 'status'],
      ['--', 'status'],
    ]) {
      const route = pickRoute(COMMANDS, args);
      expect(route.leaf, args.join(' ')).toBeUndefined();
      expect(routeKey(route)).toBe(TOP_ROUTE_KEY);
    }
  });

  it('stops at the first word that is not a command: an argument is never taken for one', () => {
    expect(pickRoute(COMMANDS, ['hosts', 'status']).leaf?.name).toBe('hosts');
    expect(pickRoute(COMMANDS, ['direct', 'status', 'dump']).leaf).toBeUndefined();
  });
});

describe('argv[0] dispatch', () => {
  it('a link named like a command runs that command', () => {
    expect(linkedCommandName(COMMANDS, '/usr/sbin/status', 'node')).toBe('status');
    expect(cliArgs(COMMANDS, ['/usr/bin/node', '/usr/sbin/hosts', 'ls1', '--json'], 'node')).toEqual([
      'hosts',
      'ls1',
      '--json',
    ]);
  });

  it("falls back to node's argv[0] (a wrapper's exec -a NAME)", () => {
    expect(linkedCommandName(COMMANDS, '/usr/lib/leasehold/bin/leasehold.js', '/usr/sbin/status')).toBe('status');
  });

  it('leasehold itself, its scripts and unknown names change nothing', () => {
    for (const script of [
      '/usr/bin/leasehold',
      '/x/packages/cli/bin/leasehold.js',
      '/x/dist/main.js',
      '/x/dist/launcher.js',
      '/usr/sbin/lvfoo',
    ]) {
      expect(linkedCommandName(COMMANDS, script, 'node'), script).toBeUndefined();
      expect(cliArgs(COMMANDS, ['node', script, 'status'], 'node')).toEqual(['status']);
    }
  });
});
