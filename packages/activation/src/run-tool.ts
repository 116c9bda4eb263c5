/** Runs a backend tool (losetup, dmsetup) as a child process, so a slow device never blocks the daemon's loop. */
import { spawn } from 'node:child_process';
import { ActivationError } from './errors.js';

/** How long one tool run may take before it is killed (a suspend on a hung PV can take long). */
export const TOOL_TIMEOUT_MS = 60_000;
/** Output kept from one run, per stream: enough for any table or listing the backends read. */
export const MAX_TOOL_OUTPUT_BYTES = 1024 * 1024;

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `path args`, feeding `input` on stdin; resolves whatever the exit status (spawn failures reject). */
export function runTool(path: string, args: readonly string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TOOL_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < MAX_TOOL_OUTPUT_BYTES) out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_TOOL_OUTPUT_BYTES) err.push(chunk);
      errBytes += chunk.length;
    });
    child.on('error', (error) =>
      reject(new ActivationError('ACTIVATION_FAILED', `cannot run ${path}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) =>
      resolve({
        status: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {
      // the tool exited without reading its input: its status says why
    });
    child.stdin.end(input ?? '');
  });
}

/** Like runTool, but a non-zero exit is an ACTIVATION_FAILED error carrying the tool's first stderr line. */
export async function runToolOk(path: string, args: readonly string[], input?: string): Promise<string> {
  const result = await runTool(path, args, input);
  if (result.status !== 0) throw toolFailure(path, args, result);
  return result.stdout;
}

export function toolFailure(path: string, args: readonly string[], result: ToolResult): ActivationError {
  const firstLine = result.stderr.trim().split('\n')[0] ?? '';
  return new ActivationError(
    'ACTIVATION_FAILED',
    `${path} ${args.join(' ')} failed (status ${result.status})${firstLine === '' ? '' : `: ${firstLine}`}`,
  );
}
