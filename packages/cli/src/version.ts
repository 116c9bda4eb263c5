/**
 * The version `leasehold --version` prints: this package's, from package.json one directory above
 * src/, dist/ and bundle/ (the bundler keeps bundle/ beside dist/), so that the checkout,
 * `scripts/install` and the .deb all report the version they were built from. Not found by yargs
 * walking up from the main module, which a bundle run through the code cache does not have.
 */
import { readFileSync } from 'node:fs';

const MANIFEST_URL = new URL('../package.json', import.meta.url);

/** This package's version, or 'unknown' when its package.json cannot be read. */
export function cliVersion(): string {
  try {
    const version = (JSON.parse(readFileSync(MANIFEST_URL, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What `leasehold --version` prints. */
export function versionLine(): string {
  return `leasehold ${cliVersion()}`;
}
