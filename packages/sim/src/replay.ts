import fc from 'fast-check';

/**
 * Every simulator property runs through here so that runs are sized and replayed the same way:
 *   SIM_RUNS=n           runs per property (default: each property's own CI-sized count)
 *   SIM_SEED=s           fast-check seed (default: a fresh one each time, printed on failure)
 *   SIM_PATH=p           with SIM_SEED: replay exactly the failing (shrunk) case
 *   SIM_SHRINK=0         report the first failure without shrinking it
 */
export interface SimRunSettings {
  numRuns: number;
  seed: number | undefined;
  path: string | undefined;
  shrink: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export function simRunSettings(defaultRuns: number, env: Env = process.env): SimRunSettings {
  const runs = parseInteger(env.SIM_RUNS, 'SIM_RUNS');
  const seed = parseInteger(env.SIM_SEED, 'SIM_SEED');
  const path = env.SIM_PATH === undefined || env.SIM_PATH === '' ? undefined : env.SIM_PATH;
  if (path !== undefined && seed === undefined) throw new Error('SIM_PATH needs SIM_SEED');
  return { numRuns: runs ?? defaultRuns, seed, path, shrink: env.SIM_SHRINK !== '0' };
}

function parseInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}

/** Rough budget for a test of `numRuns` runs, for the test framework's timeout. */
export function simTimeoutMs(numRuns: number, msPerRun: number): number {
  const MIN_TIMEOUT_MS = 60_000;
  // Shrinking a failure re-runs the property many times: leave room for it.
  const SHRINK_ALLOWANCE_MS = 120_000;
  return Math.max(MIN_TIMEOUT_MS, numRuns * msPerRun + SHRINK_ALLOWANCE_MS);
}

export interface SimPropertyOptions {
  /** The test's name exactly as `vitest -t` should match it. */
  testName: string;
  /** Where the test lives, for the replay command (default: the whole sim package). */
  testPath?: string;
  /** Runs in CI when SIM_RUNS is not set. */
  defaultRuns: number;
  env?: Env;
}

/** The command that replays one failing case. */
export function replayCommand(options: SimPropertyOptions, seed: number, path: string): string {
  const target = options.testPath ?? 'packages/sim';
  // vitest's -t takes a regular expression: escape the name so it matches itself.
  const pattern = options.testName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `SIM_SEED=${seed} SIM_PATH=${path} npx vitest run ${target} -t ${shellQuote(pattern)}`;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Checks an async property with the SIM_* settings. On failure it throws an Error whose message
 * holds the shrunk case, its seed and path, the one-line replay command and the property's own
 * report (the violation and the trace); the same text goes to stderr, where CI logs keep it.
 */
export async function checkSimProperty<T>(property: fc.IAsyncProperty<T>, options: SimPropertyOptions): Promise<void> {
  const settings = simRunSettings(options.defaultRuns, options.env);
  const details = await fc.check(property, {
    numRuns: settings.numRuns,
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    ...(settings.path === undefined ? {} : { path: settings.path }),
    endOnFailure: !settings.shrink,
  });
  if (!details.failed) return;
  const report = failureReport(details, options);
  process.stderr.write(`${report}\n`);
  throw new Error(report);
}

function failureReport<T>(details: fc.RunDetails<T>, options: SimPropertyOptions): string {
  if (details.counterexample === null || details.counterexamplePath === null) {
    return `simulation "${options.testName}" did not finish: interrupted or too many skipped runs (seed ${details.seed})`;
  }
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error);
  return [
    `simulation "${options.testName}" failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s)`,
    `seed ${details.seed}, path ${details.counterexamplePath}`,
    `replay: ${replayCommand(options, details.seed, details.counterexamplePath)}`,
    `case: ${fc.stringify(details.counterexample)}`,
    '',
    message,
  ].join('\n');
}
