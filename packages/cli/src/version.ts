/**
 * The command's version, from this package's package.json (one directory above src/ and dist/),
 * so that the checkout, `scripts/install` and the .deb all report the version they were built from.
 */
import { readFileSync } from 'node:fs';

const MANIFEST_URL = new URL('../package.json', import.meta.url);

export function leaseholdVersion(): string {
  const manifest = JSON.parse(readFileSync(MANIFEST_URL, 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error(`no version in ${MANIFEST_URL.pathname}`);
  return manifest.version;
}

/** What `leasehold --version` prints. */
export function versionLine(): string {
  return `leasehold ${leaseholdVersion()}`;
}
