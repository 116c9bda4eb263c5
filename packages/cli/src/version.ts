/**
 * The version `leasehold --version` prints: this package's. Read from package.json next to dist/
 * (and next to bundle/, which the bundler keeps beside dist/), not found by yargs walking up from
 * the main module, which a bundle run through the code cache does not have.
 */
import { readFileSync } from 'node:fs';

export function cliVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
