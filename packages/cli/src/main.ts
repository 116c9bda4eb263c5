/**
 * The CLI run from tsc output (dist/): the fallback when no fresh bundle exists, and what
 * `node packages/cli/dist/main.js ...` runs. Commands are loaded by dynamic import, one per run.
 */
import { COMMANDS, type LeafSpec } from './command-registry.js';
import { cliArgs } from './dispatch.js';
import { runCli } from './run-cli.js';

async function loadFromDist(spec: LeafSpec): Promise<Record<string, unknown>> {
  return (await import(`./commands/${spec.module}.js`)) as Record<string, unknown>;
}

await runCli(cliArgs(COMMANDS, process.argv, process.argv0), loadFromDist);
