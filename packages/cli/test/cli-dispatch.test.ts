/**
 * runCli in-process with a fake loader: only the invoked command is loaded, a self-parsing command
 * gets the arguments after its name, and a yargs command gets its parsed options.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LeafSpec, SelfParsingCommand } from '../src/command-registry.js';
import { runCli } from '../src/run-cli.js';

afterEach(() => {
  process.exitCode = undefined;
});

describe('runCli', () => {
  it('loads only the invoked command and hands a self-parsing one the arguments after its name', async () => {
    const loadedModules: string[] = [];
    const calls: Array<{ args: readonly string[]; invokedAs: string }> = [];
    const command: SelfParsingCommand = {
      parsesOwnArgs: true,
      run: async (args, invokedAs) => {
        calls.push({ args, invokedAs });
      },
    };
    await runCli(['direct', 'dump', '-o+lv_uuid', '--', 'x'], async (spec: LeafSpec) => {
      loadedModules.push(spec.module);
      return { [spec.exportName]: command };
    });
    expect(loadedModules).toEqual(['direct-dump']);
    expect(calls).toEqual([{ args: ['-o+lv_uuid', '--', 'x'], invokedAs: 'dump' }]);
    expect(process.exitCode).toBeUndefined();
  });

  it('parses a yargs command with the real module and stubs for the others', async () => {
    const seen: Array<Record<string, unknown>> = [];
    await runCli(['status', '--json'], async (spec: LeafSpec) => ({
      [spec.exportName]: {
        command: 'status',
        describe: spec.summary,
        builder: (y: { option(name: string, o: object): unknown }) =>
          y.option('json', { type: 'boolean', default: false }),
        handler: (argv: Record<string, unknown>) => {
          seen.push(argv);
        },
      },
    }));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.json).toBe(true);
    expect(process.exitCode).toBeUndefined();
  });

  it('reports a module without the registered export as an error, not a crash', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await runCli(['status'], async () => ({}));
    } finally {
      process.stderr.write = write;
    }
    expect(process.exitCode).toBe(4);
    expect(stderr.join('')).toMatch(/^leasehold: INTERNAL: .*no export statusCommand/);
  });
});
