/** Workspace import specifiers ('@leasehold/disk/direct') and the layer of each package. */
import { LAYERS, SCOPE, TEST_ONLY_PACKAGES } from './layers.js';

export interface WorkspaceSpecifier {
  /** Package directory name: 'disk'. */
  dir: string;
  /** Export subpath: '.' or './direct'. */
  subpath: string;
}

export function parseWorkspaceSpecifier(specifier: string): WorkspaceSpecifier | undefined {
  if (!specifier.startsWith(SCOPE)) return undefined;
  const [dir, ...rest] = specifier.slice(SCOPE.length).split('/');
  if (dir === undefined || dir === '') return undefined;
  return { dir, subpath: rest.length === 0 ? '.' : `./${rest.join('/')}` };
}

/** The npm package a bare specifier names: 'pino', '@scope/name', or a builtin as 'node:fs'. */
export function packageNameOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Tier index of a package directory (0 at the bottom); undefined when the table does not list it. */
export function layerOf(dir: string, layers: readonly (readonly string[])[] = LAYERS): number | undefined {
  const index = layers.findIndex((tier) => tier.includes(dir));
  return index === -1 ? undefined : index;
}

export function isTestOnly(dir: string): boolean {
  return TEST_ONLY_PACKAGES.includes(dir);
}
