/**
 * What the checks need to know about one file, read from its syntax tree (so comments and strings
 * never count): its imports, and the uses of a few names (clock, timers, console, test focus, `any`).
 */
import ts from 'typescript';

export interface ImportFact {
  specifier: string;
  line: number;
  /** `import type`, or every named binding is `type`: erased at run time. */
  typeOnly: boolean;
  /** `import('x')`: loaded only when that code runs. */
  dynamic: boolean;
}

export type UsageKind =
  /** A property access, as dotted text: 'Date.now', 'console.log', 'it.only', 'test.prop().skip'. */
  | 'member'
  /** A free identifier used as a value: 'setTimeout'. */
  | 'global'
  /** `new X(...)`: 'Date'. */
  | 'new'
  /** The `any` type. */
  | 'any';

export interface UsageFact {
  kind: UsageKind;
  text: string;
  line: number;
}

export interface FileFacts {
  imports: ImportFact[];
  usages: UsageFact[];
}

/** Property names worth recording (everything else is left out to keep the facts small). */
const WATCHED_MEMBERS = new Set([
  'now',
  'log',
  'hrtime',
  'bigint',
  'only',
  'skip',
  'skipIf',
  'runIf',
  'todo',
  'setTimeout',
  'setInterval',
  'setImmediate',
]);
const WATCHED_GLOBALS = new Set(['setTimeout', 'setInterval', 'setImmediate']);
const WATCHED_CONSTRUCTORS = new Set(['Date']);

function scriptKindOf(path: string): ts.ScriptKind {
  return path.endsWith('.js') || path.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

/** 'a.b.c' for property chains; a call in the chain reads as 'f()'. */
function dottedText(node: ts.Expression): string {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return `${dottedText(node.expression)}.${node.name.text}`;
  if (ts.isCallExpression(node)) return `${dottedText(node.expression)}()`;
  if (node.kind === ts.SyntaxKind.ThisKeyword) return 'this';
  return '?';
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import 'x'` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return (
    clause !== undefined &&
    ts.isNamedExports(clause) &&
    clause.elements.length > 0 &&
    clause.elements.every((element) => element.isTypeOnly)
  );
}

/** An identifier that names something here (a declaration, a property key) rather than reading a value. */
function isNameOnly(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return true;
  if (ts.isQualifiedName(parent) && parent.right === node) return true;
  if (ts.isPropertyAssignment(parent) && parent.name === node) return true;
  if (
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent)
  ) {
    return parent.name === node;
  }
  if (ts.isVariableDeclaration(parent) || ts.isFunctionDeclaration(parent) || ts.isParameter(parent))
    return parent.name === node;
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent)) return true;
  return false;
}

export function parseFacts(path: string, text: string): FileFacts {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKindOf(path));
  const facts: FileFacts = { imports: [], usages: [] };
  const lineOf = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      facts.imports.push({
        specifier: node.moduleSpecifier.text,
        line: lineOf(node),
        typeOnly: isTypeOnlyImport(node),
        dynamic: false,
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      facts.imports.push({
        specifier: node.moduleSpecifier.text,
        line: lineOf(node),
        typeOnly: isTypeOnlyExport(node),
        dynamic: false,
      });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      facts.imports.push({ specifier: node.argument.literal.text, line: lineOf(node), typeOnly: true, dynamic: false });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const [first] = node.arguments;
      if (first !== undefined && ts.isStringLiteralLike(first)) {
        if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
          facts.imports.push({ specifier: first.text, line: lineOf(node), typeOnly: false, dynamic: true });
        } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
          facts.imports.push({ specifier: first.text, line: lineOf(node), typeOnly: false, dynamic: false });
        }
      }
    } else if (ts.isPropertyAccessExpression(node) && WATCHED_MEMBERS.has(node.name.text)) {
      facts.usages.push({ kind: 'member', text: dottedText(node), line: lineOf(node) });
    } else if (ts.isIdentifier(node) && WATCHED_GLOBALS.has(node.text) && !isNameOnly(node)) {
      facts.usages.push({ kind: 'global', text: node.text, line: lineOf(node) });
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      WATCHED_CONSTRUCTORS.has(node.expression.text)
    ) {
      facts.usages.push({ kind: 'new', text: node.expression.text, line: lineOf(node) });
    } else if (node.kind === ts.SyntaxKind.AnyKeyword) {
      facts.usages.push({ kind: 'any', text: 'any', line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return facts;
}
