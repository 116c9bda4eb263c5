/**
 * prerun.ts: a bundle's top level run ahead of its command may add stdout/stderr listeners (kept
 * for the real streams) and nothing that depends on the process it will run as; one that reads the
 * environment, argv, the working directory or stdin is dropped, even when it catches the trip, and
 * the process is left as it was.
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../src/bundle-runner.js';
import { attachStreamListeners, prerunBundle } from '../src/command-server/prerun.js';

/** A bundle whose top level is `body`, exporting a main that returns what `mainBody` computes. */
function bundleOf(body: string, mainBody = 'return undefined;'): LoadedBundle {
  const source = `(function (exports, require, module, __filename, __dirname) {${body}\nmodule.exports.main = async function main(args) { ${mainBody} };\n})`;
  return { key: 'test', file: '/nonexistent/test.cjs', script: new vm.Script(source), saveCacheTo: undefined };
}

describe('running a command bundle ahead (prerun.ts)', () => {
  it('keeps a top level that only adds stream listeners, and adds them to the real streams later', async () => {
    const before = { out: process.stdout.listenerCount('error'), err: process.stderr.listenerCount('error') };
    const prepared = prerunBundle(
      bundleOf(
        "globalThis.__prerunSeen = 'top'; process.stdout.on('error', () => {}); process.stderr.once('error', () => {});",
        "return 'ran ' + args.join(' ');",
      ),
    );
    expect(prepared).toBeDefined();
    expect(prepared?.streamListeners.map((l) => `${l.stream}.${l.method}(${l.event})`)).toEqual([
      'stdout.on(error)',
      'stderr.once(error)',
    ]);
    // Nothing reached the real streams yet.
    expect(process.stdout.listenerCount('error')).toBe(before.out);
    if (prepared === undefined) return;
    attachStreamListeners(prepared);
    expect(process.stdout.listenerCount('error')).toBe(before.out + 1);
    expect(process.stderr.listenerCount('error')).toBe(before.err + 1);
    await expect(prepared.main(['a', 'b'])).resolves.toBe('ran a b');
    for (const listener of prepared.streamListeners)
      (listener.stream === 'stdout' ? process.stdout : process.stderr).removeListener(
        listener.event,
        listener.listener,
      );
  });

  it.each([
    ['the environment', 'const home = process.env.HOME;'],
    ['the environment, with the trip caught', 'let home; try { home = process.env.HOME; } catch { home = "/"; }'],
    ['the names in the environment', 'const names = Object.keys(process.env);'],
    ['argv', 'const first = process.argv[2];'],
    ['the working directory', 'const here = process.cwd();'],
    ['stdin', 'process.stdin.on("data", () => {});'],
    ['a write to stdout', 'process.stdout.write("hello\\n");'],
  ])('drops a top level that reads %s, and restores the process', (_what, body) => {
    const env = process.env;
    const argv = process.argv;
    const cwd = process.cwd;
    expect(prerunBundle(bundleOf(body))).toBeUndefined();
    expect(process.env).toBe(env);
    expect(process.argv).toBe(argv);
    expect(process.cwd).toBe(cwd);
    expect(typeof process.stdout.write).toBe('function');
  });

  it('drops a top level that throws or exports no main', () => {
    expect(prerunBundle(bundleOf('throw new Error("broken");'))).toBeUndefined();
    const noMain: LoadedBundle = {
      key: 'test',
      file: '/nonexistent/test.cjs',
      script: new vm.Script('(function (exports, require, module) {})'),
      saveCacheTo: undefined,
    };
    expect(prerunBundle(noMain)).toBeUndefined();
  });
});
