/**
 * The `leasehold` command line. Only the command named on the command line is loaded; yargs sees it
 * and a cheap stub for every other command (enough for `--help` to list them all). A command that
 * parses its own argv runs without loading yargs at all. Every failure prints one line,
 * `leasehold: CODE: message (what to do)`, on stderr and exits with the status the error catalogue
 * (@leasehold/errors) gives its code.
 */
import type { Argv, CommandModule } from 'yargs';
import { errorLine, EXIT_STATUS, RUN_EXIT_OFFSET } from '@leasehold/errors';
import { describeError, describeRunError } from './cli-error.js';
import {
  COMMANDS,
  isGroup,
  isSelfParsing,
  type CommandSpec,
  type LeafSpec,
  type LoadedCommand,
} from './command-registry.js';
import { pickRoute } from './dispatch.js';
import { printError } from './output.js';
import { versionLine } from './version.js';

/** Help text wraps at the terminal's width, at most this (yargs' CommonJS and ESM builds differ when piped). */
const HELP_WIDTH_COLUMNS = 80;

/** Loads one command's module namespace: from dist/ by dynamic import, or from inside a bundle. */
export type CommandLoader = (spec: LeafSpec) => Promise<Record<string, unknown>>;

async function loadCommand(spec: LeafSpec, loader: CommandLoader): Promise<LoadedCommand> {
  const namespace = await loader(spec);
  const command = namespace[spec.exportName];
  if (typeof command !== 'object' || command === null) {
    throw new Error(`command ${spec.name}: module ${spec.module} has no export ${spec.exportName}`);
  }
  return command as LoadedCommand;
}

/** Listed in help, never run: pickRoute loads the real module whenever the name is on the command line. */
function stub(spec: CommandSpec): CommandModule {
  return {
    command: isGroup(spec) ? `${spec.name} <command>` : spec.name,
    aliases: spec.aliases === undefined ? [] : [...spec.aliases],
    describe: spec.summary,
    builder: (y: Argv) => y,
    handler: () => undefined,
  };
}

/** yargs commands for one level: the loaded module where the route goes, stubs elsewhere. */
function level(
  specs: readonly CommandSpec[],
  route: readonly CommandSpec[],
  depth: number,
  loaded: CommandModule | undefined,
): CommandModule[] {
  return specs.map((spec) => {
    if (spec !== route[depth]) return stub(spec);
    if (!isGroup(spec)) return loaded ?? stub(spec);
    return {
      command: `${spec.name} <command>`,
      aliases: spec.aliases === undefined ? [] : [...spec.aliases],
      describe: spec.summary,
      builder: (y: Argv) => {
        let built = y;
        for (const sub of level(spec.subcommands, route, depth + 1, loaded)) built = built.command(sub);
        return built.demandCommand(1);
      },
      handler: () => undefined,
    };
  });
}

async function parseWithYargs(
  args: string[],
  route: readonly CommandSpec[],
  loaded: CommandModule | undefined,
): Promise<void> {
  // Loaded here, not at the top: self-parsing commands never pay for it.
  const { default: yargs } = await import('yargs');
  let parser = yargs(args)
    .scriptName('leasehold')
    .usage('$0 <command> [options]\n\nA disk-based lease lock manager, compatible with sanlock on disk.');
  for (const command of level(COMMANDS, route, 0, loaded)) parser = parser.command(command);
  await parser
    .demandCommand(1, 'give a command')
    .strict()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(HELP_WIDTH_COLUMNS, process.stdout.columns ?? HELP_WIDTH_COLUMNS))
    .version(versionLine())
    .fail((message: string | null, error: Error | undefined) => {
      if (error) throw error;
      printError(errorLine('BAD_ARGUMENT', message ?? 'invalid arguments'));
      process.exit(wrapsCommand(args) ? RUN_EXIT_OFFSET + EXIT_STATUS.usage : EXIT_STATUS.usage);
    })
    .parseAsync();
}

/** Runs the CLI on args (argv after node and the script, the linked name first: see dispatch.cliArgs). */
export async function runCli(args: string[], loader: CommandLoader): Promise<void> {
  try {
    const route = pickRoute(COMMANDS, args);
    const loaded = route.leaf === undefined ? undefined : await loadCommand(route.leaf, loader);
    if (route.leaf !== undefined && loaded !== undefined && isSelfParsing(loaded)) {
      await loaded.run(args.slice(route.restIndex), route.leaf.name);
      return;
    }
    await parseWithYargs(args, route.specs, loaded as CommandModule | undefined);
  } catch (error: unknown) {
    // An error that reaches here from `run` / `direct run` came before their command started.
    const { line, exitStatus } = wrapsCommand(args) ? describeRunError(error) : describeError(error);
    printError(line);
    process.exitCode = exitStatus;
  }
}

/** `run` and `direct run` keep 1-4 for the wrapped command; their own statuses are 121-124. */
function wrapsCommand(args: string[]): boolean {
  const words = args.filter((word) => !word.startsWith('-'));
  return words[0] === 'run' || (words[0] === 'direct' && words[1] === 'run');
}
