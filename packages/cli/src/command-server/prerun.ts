/**
 * Running a bundle's top level (its modules' initialisation, 4-6 ms) before the worker knows its
 * command, under tripwires. The top level of a command may not depend on the process it will run
 * as: a module that read the environment, the working directory, argv or stdin then would keep
 * the worker's values, not the front end's. So while a bundle's top level runs, those are
 * replaced by tripwires that record any use (and throw, in case the use would go on); a bundle
 * that trips one is dropped and runs from scratch after the command arrives, as if never
 * pre-run. The one use allowed is adding listeners to stdout and stderr (the CLI's EPIPE handling,
 * output.ts): they are recorded and added to the real streams once the worker has taken the front
 * end's fds.
 */
import { instantiateBundle, type BundleMain, type LoadedBundle } from '../bundle-runner.js';

export interface PreparedCommand {
  readonly bundle: LoadedBundle;
  readonly main: BundleMain;
  /** Listeners the top level added to stdout / stderr, for the real streams. */
  readonly streamListeners: readonly StreamListener[];
}

interface StreamListener {
  stream: 'stdout' | 'stderr';
  method: 'on' | 'once';
  event: string;
  listener: (...args: unknown[]) => void;
}

/** Most listeners a pre-run top level may add (the CLI adds two): past it the bundle is dropped. */
const MAX_STREAM_LISTENERS = 16;

class Tripped extends Error {
  override readonly name = 'Tripped';
}

type Restore = () => void;

function replaceProperty(name: string, descriptor: PropertyDescriptor): Restore {
  const original = Object.getOwnPropertyDescriptor(process, name);
  Object.defineProperty(process, name, { ...descriptor, configurable: true });
  return () => {
    if (original === undefined) delete (process as unknown as Record<string, unknown>)[name];
    else Object.defineProperty(process, name, original);
  };
}

/** Runs `bundle`'s top level under the tripwires; undefined when it touched what it may not. */
export function prerunBundle(bundle: LoadedBundle): PreparedCommand | undefined {
  const touched: string[] = [];
  const trip = (what: string): never => {
    touched.push(what);
    throw new Tripped(`a command's top level used ${what} before the command arrived`);
  };
  const wire = (what: string): object =>
    new Proxy(
      {},
      {
        get: (_target, key) => trip(`${what}.${String(key)}`),
        has: () => trip(what),
        ownKeys: () => trip(what),
        set: () => trip(what),
        getOwnPropertyDescriptor: () => trip(what),
      },
    );
  const streamListeners: StreamListener[] = [];
  const placeholder = (stream: 'stdout' | 'stderr'): object => {
    const add =
      (method: 'on' | 'once') =>
      (event: string, listener: (...args: unknown[]) => void): object => {
        if (streamListeners.length >= MAX_STREAM_LISTENERS) trip(`more than ${MAX_STREAM_LISTENERS} stream listeners`);
        streamListeners.push({ stream, method, event, listener });
        return stand;
      };
    const methods: Record<string, unknown> = { on: add('on'), once: add('once') };
    const stand: object = new Proxy(
      {},
      {
        get: (_target, key) =>
          typeof key === 'string' && key in methods ? methods[key] : trip(`${stream}.${String(key)}`),
      },
    );
    return stand;
  };
  const restores: Restore[] = [
    replaceProperty('env', { value: wire('process.env'), writable: true }),
    replaceProperty('argv', { value: wire('process.argv'), writable: true }),
    replaceProperty('cwd', { value: () => trip('process.cwd()'), writable: true }),
    replaceProperty('stdin', { get: () => trip('process.stdin') }),
    replaceProperty('stdout', { get: () => placeholder('stdout') }),
    replaceProperty('stderr', { get: () => placeholder('stderr') }),
  ];
  let main: BundleMain | undefined;
  try {
    main = instantiateBundle(bundle);
  } catch (error: unknown) {
    if (!(error instanceof Tripped) && touched.length === 0) touched.push(`an exception: ${String(error)}`);
  } finally {
    for (const restore of restores.reverse()) restore();
  }
  // A trip caught and ignored by the top level still counts: what it went on with is the worker's.
  if (touched.length > 0 || main === undefined) return undefined;
  return { bundle, main, streamListeners };
}

/** Adds the recorded listeners to the real streams (after the front end's fds are 1 and 2). */
export function attachStreamListeners(prepared: PreparedCommand): void {
  for (const { stream, method, event, listener } of prepared.streamListeners) {
    const target = stream === 'stdout' ? process.stdout : process.stderr;
    if (method === 'on') target.on(event, listener);
    else target.once(event, listener);
  }
}
