/**
 * The catalogue as Markdown for docs/cli.md, between two marker lines. A test compares the file
 * with this output, so the documented table cannot drift from the code.
 */
import { ERROR_ALIASES, ERROR_CATALOGUE, type CatalogueEntry } from './catalogue.js';
import { EXIT_STATUS, EXIT_TABLE, LVM_EXIT_FAILED, LVM_EXIT_INVALID_CMD_LINE } from './exit-status.js';

export const DOCS_BEGIN_MARKER = '<!-- error-catalogue:begin (generated from packages/errors; do not edit by hand) -->';
export const DOCS_END_MARKER = '<!-- error-catalogue:end -->';

const cell = (text: string | number): string => String(text).replace(/\|/g, '\\|');

export function renderExitTable(): string[] {
  const lines = ['| status | `run`, `direct run` | meaning |', '|---|---|---|'];
  for (const row of EXIT_TABLE) lines.push(`| ${cell(row.status)} | ${cell(row.runStatus)} | ${cell(row.meaning)} |`);
  return lines;
}

export function renderCatalogue(): string[] {
  const lines = ['| code | meaning | exit | lvm exit | what to do |', '|---|---|---|---|---|'];
  const entries = Object.entries(ERROR_CATALOGUE) as Array<[string, CatalogueEntry]>;
  let group: string | undefined;
  for (const [code, entry] of entries) {
    if (entry.group !== group) {
      group = entry.group;
      lines.push(`| **${group}** | | | | |`);
    }
    const lvm = entry.exit === 'usage' ? LVM_EXIT_INVALID_CMD_LINE : LVM_EXIT_FAILED;
    lines.push(`| \`${code}\` | ${cell(entry.meaning)} | ${EXIT_STATUS[entry.exit]} | ${lvm} | ${cell(entry.hint)} |`);
  }
  return lines;
}

export function renderAliases(): string {
  const byTarget = new Map<string, string[]>();
  for (const [alias, target] of Object.entries(ERROR_ALIASES))
    byTarget.set(target, [...(byTarget.get(target) ?? []), alias]);
  return [...byTarget.entries()]
    .map(([target, aliases]) => `\`${target}\` (${aliases.map((a) => `\`${a}\``).join(', ')})`)
    .join('; ');
}

/** The whole generated section, markers included. */
export function renderDocsSection(): string {
  return [
    DOCS_BEGIN_MARKER,
    '',
    '### Exit statuses',
    '',
    ...renderExitTable(),
    '',
    `The lvm-named commands (pvcreate, vgcreate, lvs, ...) exit as lvm does: 0 done, ${LVM_EXIT_INVALID_CMD_LINE} bad command line, ${LVM_EXIT_FAILED} failed.`,
    '',
    '### Error codes',
    '',
    'Every error prints one line on stderr, `leasehold: CODE: message (what to do)`, and the exit status of its row.',
    '',
    ...renderCatalogue(),
    '',
    `Finer codes of the lower layers appear only in logs and in the \`details\` of the daemon's replies; they are reported as: ${renderAliases()}.`,
    '',
    DOCS_END_MARKER,
  ].join('\n');
}

/** Replaces the generated section of a document's text (which must hold both markers). */
export function replaceDocsSection(text: string): string {
  const begin = text.indexOf(DOCS_BEGIN_MARKER);
  const end = text.indexOf(DOCS_END_MARKER);
  if (begin < 0 || end < begin) throw new Error('the document has no error-catalogue markers');
  return text.slice(0, begin) + renderDocsSection() + text.slice(end + DOCS_END_MARKER.length);
}
