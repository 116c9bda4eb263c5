import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  canonicalCode,
  classifyError,
  DOCS_BEGIN_MARKER,
  DOCS_END_MARKER,
  ERROR_ALIASES,
  ERROR_CATALOGUE,
  errorLine,
  exitStatusOf,
  isCatalogueCode,
  isKnownCode,
  lvmExitStatus,
  renderDocsSection,
  replaceDocsSection,
  runExitStatusOf,
} from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DOCS = join(ROOT, 'docs', 'cli.md');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('the error catalogue', () => {
  it('docs/cli.md lists exactly the catalogue (set LEASEHOLD_UPDATE_DOCS=1 to regenerate)', () => {
    const text = readFileSync(DOCS, 'utf8');
    if (process.env['LEASEHOLD_UPDATE_DOCS'] === '1') writeFileSync(DOCS, replaceDocsSection(text));
    const now = readFileSync(DOCS, 'utf8');
    const begin = now.indexOf(DOCS_BEGIN_MARKER);
    const end = now.indexOf(DOCS_END_MARKER);
    expect(begin).toBeGreaterThan(0);
    expect(now.slice(begin, end + DOCS_END_MARKER.length)).toBe(renderDocsSection());
  });

  it('every code thrown in the sources is in the catalogue or maps to it', () => {
    const thrown = new Set<string>();
    const pattern = /new [A-Z][A-Za-z]*Error\(\s*'([A-Z][A-Z_]+)'/g;
    for (const file of sourceFiles(join(ROOT, 'packages'))) {
      if (!file.includes('/src/')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) thrown.add(match[1] ?? '');
    }
    expect(thrown.size).toBeGreaterThan(40);
    const unknown = [...thrown].filter((code) => !isKnownCode(code));
    expect(unknown).toEqual([]);
  });

  it('aliases point at catalogue codes, and no alias shadows a catalogue code', () => {
    for (const [alias, target] of Object.entries(ERROR_ALIASES)) {
      expect(isCatalogueCode(target), `${alias} -> ${target}`).toBe(true);
      expect(isCatalogueCode(alias), alias).toBe(false);
    }
  });

  it('the duplicates of the issue are merged: EOPEN is DEVICE_OPEN, INVALID_ARGUMENT is BAD_ARGUMENT with the usage status', () => {
    expect(canonicalCode('EOPEN')).toBe('DEVICE_OPEN');
    expect(canonicalCode('INVALID_ARGUMENT')).toBe('BAD_ARGUMENT');
    expect(exitStatusOf('INVALID_ARGUMENT')).toBe(exitStatusOf('BAD_OFFSET'));
    expect(exitStatusOf('BAD_OFFSET')).toBe(2);
  });

  it('held by someone else has its own status, distinct from failures, and run moves it out of the common range', () => {
    expect(exitStatusOf('LEASE_HELD')).toBe(3);
    expect(exitStatusOf('ACQUIRE_IDLIVE')).toBe(3);
    expect(exitStatusOf('HOSTID_BUSY')).toBe(3);
    expect(exitStatusOf('IO_ERROR')).toBe(1);
    expect(exitStatusOf('SOMETHING_UNHEARD_OF')).toBe(4);
    expect(runExitStatusOf('LEASE_HELD')).toBe(123);
    expect(runExitStatusOf('IO_ERROR')).toBe(121);
    const statuses = new Set(Object.keys(ERROR_CATALOGUE).map(exitStatusOf));
    expect([...statuses].sort()).toEqual([1, 2, 3, 4]);
  });

  it("lvm's statuses for the lvm-named commands: 3 bad command line, 5 failed", () => {
    expect(lvmExitStatus('BAD_ARGUMENT')).toBe(3);
    expect(lvmExitStatus('NAME_TOO_LONG')).toBe(3);
    expect(lvmExitStatus('LEASE_HELD')).toBe(5);
    expect(lvmExitStatus('IO_ERROR')).toBe(5);
  });

  it('distinct codes for not initialised, wrong name, wrong kind and damaged', () => {
    const codes = ['LEADER_MAGIC', 'LEADER_LOCKSPACE', 'LEADER_RESOURCE', 'LEADER_CHECKSUM', 'CORRUPT'].map(
      canonicalCode,
    );
    expect(codes).toEqual(['NOT_INITIALIZED', 'WRONG_NAME', 'WRONG_NAME', 'DAMAGED', 'DAMAGED']);
    expect(
      new Set(
        ['NOT_INITIALIZED', 'WRONG_NAME', 'WRONG_KIND', 'DAMAGED'].map(
          (code) => ERROR_CATALOGUE[code as 'DAMAGED'].meaning,
        ),
      ).size,
    ).toBe(4);
  });

  it('classifies by the most specific code along the cause chain, and OS errors as I/O errors', () => {
    const onDisk = Object.assign(new Error('wrong lockspace name'), {
      code: 'LEADER_LOCKSPACE',
      catalogueCode: 'WRONG_NAME',
    });
    const wrapped = Object.assign(new Error('acquire: wrong lockspace name', { cause: onDisk }), { code: 'CORRUPT' });
    expect(classifyError(wrapped)).toEqual({ code: 'WRONG_NAME', message: 'acquire: wrong lockspace name' });
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), {
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
    });
    expect(classifyError(enoent).code).toBe('IO_ERROR');
    const bug = classifyError(new TypeError('x is undefined'));
    expect(bug.code).toBe('INTERNAL');
    expect(bug.message).not.toContain('\n');
    expect(bug.message).toMatch(/x is undefined \(at .*catalogue\.test\.ts/);
  });

  it('one line: CODE, message, hint; INTERNAL says where to report', () => {
    expect(errorLine('EOPEN', 'cannot open /x\n  more')).toBe(
      `leasehold: DEVICE_OPEN: cannot open /x; more (${ERROR_CATALOGUE.DEVICE_OPEN.hint})`,
    );
    expect(errorLine('INTERNAL', 'oops')).toMatch(/bug: please report it to .*issue tracker/);
  });
});
