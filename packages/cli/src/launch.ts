/**
 * The launcher's one decision: run the command's bundle (see bundle-runner.ts) when a fresh one
 * exists, else report that it did not, so the caller imports dist/main.js. Kept apart from
 * launcher.ts so that scripts/bundle.mjs can also build it as bundle/_launcher.cjs, which
 * bin/leasehold.js requires without starting Node's ES module loader.
 */
import { runBundle } from './bundle-runner.js';
import { COMMANDS } from './command-registry.js';
import { cliArgs, pickRoute, routeKey } from './dispatch.js';

/** Resolves true when the command ran from its bundle; false (nothing run) when dist/ must run it. */
export async function launch(): Promise<boolean> {
  if (process.env.LEASEHOLD_NO_BUNDLE === '1') return false;
  const args = cliArgs(COMMANDS, process.argv, process.argv0);
  return runBundle(routeKey(pickRoute(COMMANDS, args)), args);
}
