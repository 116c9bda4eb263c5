/**
 * The ES module launcher: the command's bundle with its V8 code cache when a fresh one exists
 * (see launch.ts), else the tsc output in dist/. LEASEHOLD_NO_BUNDLE=1 forces dist/.
 * bin/leasehold.js runs bundle/_launcher.cjs instead when it exists (no ES module loader).
 */
import { launch } from './launch.js';

if (!(await launch())) await import('./main.js');
