/**
 * Picks the command from argv before anything heavy is loaded (pure: no I/O). The launcher uses it
 * to choose a bundle, run-cli to load one command module; yargs then parses with that one module
 * and cheap stubs for the rest.
 */
import { isGroup, type CommandSpec, type LeafSpec } from './command-registry.js';

export interface Route {
  /** The commands named on the command line, outermost first (`direct`, `dump`). */
  readonly specs: readonly CommandSpec[];
  /** The leaf to load; undefined for `--help`, `--version`, a bare group or an unknown word. */
  readonly leaf: LeafSpec | undefined;
  /** Index in args of the first argument after the leaf's name. */
  readonly restIndex: number;
}

/** Bundle and code-cache name of the route with no command loaded (help, version, usage errors). */
export const TOP_ROUTE_KEY = '_top';

/** Script names that mean "the leasehold CLI itself", not a linked command name. */
const OWN_NAMES: ReadonlySet<string> = new Set(['leasehold', 'leasehold-fast', 'main', 'launcher']);

function matches(spec: CommandSpec, word: string): boolean {
  return spec.name === word || (spec.aliases ?? []).includes(word);
}

/**
 * The command words are the non-option arguments from the start; the walk stops at the first word
 * that is not a command at its level (yargs then reports it) or at `--`.
 */
export function pickRoute(commands: readonly CommandSpec[], args: readonly string[]): Route {
  const specs: CommandSpec[] = [];
  let level: readonly CommandSpec[] = commands;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const spec = level.find((candidate) => matches(candidate, arg));
    if (spec === undefined) break;
    specs.push(spec);
    if (!isGroup(spec)) return { specs, leaf: spec, restIndex: i + 1 };
    level = spec.subcommands;
  }
  return { specs, leaf: undefined, restIndex: args.length };
}

/** `direct-dump` for `leasehold direct dump`; names the bundle and its code cache. */
export function routeKey(route: Route): string {
  return route.leaf === undefined ? TOP_ROUTE_KEY : route.specs.map((spec) => spec.name).join('-');
}

function baseName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.(c|m)?js$/, '');
}

/**
 * The command a link to leasehold stands for: `lvs -o +uuid` run through a link named `lvs` is
 * `leasehold lvs -o +uuid`. Looks at the script path (a symlink to bin/leasehold.js keeps its own
 * name in process.argv[1]) and then at node's own argv[0] (a wrapper's `exec -a lvs node ...`).
 * Undefined when neither names a top-level command.
 */
export function linkedCommandName(
  commands: readonly CommandSpec[],
  scriptPath: string | undefined,
  argv0: string | undefined,
): string | undefined {
  for (const path of [scriptPath, argv0]) {
    if (path === undefined || path === '') continue;
    const name = baseName(path);
    if (OWN_NAMES.has(name)) continue;
    const spec = commands.find((candidate) => matches(candidate, name));
    if (spec !== undefined) return spec.name;
  }
  return undefined;
}

/** The argv (after node and the script) that the CLI parses: the linked name first if there is one. */
export function cliArgs(
  commands: readonly CommandSpec[],
  processArgv: readonly string[],
  argv0: string | undefined,
): string[] {
  const args = processArgv.slice(2);
  const linked = linkedCommandName(commands, processArgv[1], argv0);
  return linked === undefined ? args : [linked, ...args];
}
