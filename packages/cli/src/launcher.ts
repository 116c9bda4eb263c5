/**
 * What bin/leasehold.js runs: the command's bundle with its V8 code cache when a fresh one exists
 * (see bundle-runner.ts), else the tsc output in dist/. LEASEHOLD_NO_BUNDLE=1 forces dist/.
 */
import { runBundle } from './bundle-runner.js';
import { COMMANDS } from './command-registry.js';
import { cliArgs, pickRoute, routeKey } from './dispatch.js';

const args = cliArgs(COMMANDS, process.argv, process.argv0);
const ranBundle = process.env.LEASEHOLD_NO_BUNDLE !== '1' && (await runBundle(routeKey(pickRoute(COMMANDS, args)), args));
if (!ranBundle) await import('./main.js');
