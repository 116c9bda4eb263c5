/**
 * The config language of LVM2 metadata (libdm's parser, spec 3.1): a parser to a ConfigNode tree
 * and a generic printer. The VG printer (vg-text.ts) writes lvm's exact layout; this printer writes
 * any tree in a form the parser reads back to the same tree.
 */
import { LvmFormatError } from './errors.js';
import type { ConfigNode, ConfigScalar, ConfigSection, ConfigValue } from './model.js';

/** Nesting deeper than this is refused (VG metadata uses 4 levels). */
export const MAX_CONFIG_DEPTH = 64;
/** Array elements per value (stripes of a segment use 2 per area). */
export const MAX_ARRAY_ELEMENTS = 1_000_000;

enum Tok {
  SectionOpen, // {
  SectionClose, // }
  ArrayOpen, // [
  ArrayClose, // ]
  Comma,
  Equals,
  String,
  Int,
  Float,
  Identifier,
  Eof,
}

const CH_NUL = 0;
const CH_NL = 0x0a;
const CH_HASH = 0x23;
const CH_DQUOTE = 0x22;
const CH_SQUOTE = 0x27;
const CH_BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const CLASS_SPACE = 1;
/** Ends a bare word outside values (endsWord(c, false)); space is 1, so it ends one too. */
const ENDS_KEY_WORD = 1 | 2;
/** Ends a bare word in a value (endsWord(c, true)). */
const ENDS_VALUE_WORD = 1 | 2 | 4;
/**
 * Per char code (0-255: the parser's text is ASCII or one char per byte): CLASS_SPACE, 2 for the
 * other chars that end any word, 4 for those that end a word in a value. The same sets as isSpace
 * and endsWord.
 */
const CHAR_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    if (isSpace(c)) table[c] = CLASS_SPACE;
    else if (endsWord(c, false)) table[c] = 2;
    else if (endsWord(c, true)) table[c] = 4;
  }
  return table;
})();

/** Ends an identifier or bare string (libdm: whitespace, '#', '=', '{', '}', plus array punctuation for values). */
function endsWord(c: number, inValue: boolean): boolean {
  if (isSpace(c) || c === CH_HASH || c === 0x3d || c === 0x7b || c === 0x7d || c === CH_NUL) return true;
  return inValue && (c === 0x5b || c === 0x5d || c === 0x2c || c === CH_DQUOTE || c === CH_SQUOTE);
}

class Parser {
  private pos = 0;
  private line = 1;
  /** The current token (fields, not an object per token: a big VG has tens of thousands). */
  private tokKind: Tok = Tok.Eof;
  private tokStart = 0;
  private tokEnd = 0;
  private tokLine = 1;
  private readonly end: number;
  /** After '=', '[' or ',': an unquoted word is a bare string value. */
  private valueContext = false;
  /** The current String token came without quotes. */
  private bareWord = false;

  /** The input up to the NUL, one char per byte (so string offsets are byte offsets). */
  private readonly src: string;
  /** Whether every byte is ASCII (then token text needs no UTF-8 decoding). */
  private readonly ascii: boolean;

  constructor(private readonly bytes: Uint8Array) {
    const nul = bytes.indexOf(CH_NUL);
    this.end = nul === -1 ? bytes.length : nul;
    const body = bytes.subarray(0, this.end);
    this.ascii = isAscii(body);
    this.src = this.ascii ? new TextDecoder().decode(body) : latin1(bytes, 0, this.end);
    this.next();
  }

  parseFile(): ConfigSection {
    const items = this.parseItems(0);
    if (this.kind() !== Tok.Eof) this.fail();
    return items;
  }

  private parseItems(depth: number): ConfigSection {
    if (depth > MAX_CONFIG_DEPTH)
      throw new LvmFormatError(
        'PARSE_ERROR',
        `Config nesting deeper than ${MAX_CONFIG_DEPTH} at byte ${this.tokStart + 1} (line ${this.tokLine})`,
      );
    const items: ConfigNode[] = [];
    while (this.kind() === Tok.Identifier || this.kind() === Tok.String) {
      const key = this.kind() === Tok.String ? this.stringValue() : this.text(this.tokStart, this.tokEnd);
      this.next();
      if (this.kind() === Tok.SectionOpen) {
        this.next();
        const children = this.parseItems(depth + 1);
        this.expect(Tok.SectionClose);
        items.push({ key, children });
      } else if (this.kind() === Tok.Equals) {
        this.valueContext = true;
        this.next();
        const value = this.parseValue();
        items.push({ key, value });
      } else {
        this.fail();
      }
    }
    return items;
  }

  private parseValue(): ConfigValue {
    if (this.kind() === Tok.ArrayOpen) {
      this.valueContext = true;
      this.next();
      const values: ConfigScalar[] = [];
      while (this.kind() !== Tok.ArrayClose) {
        if (values.length >= MAX_ARRAY_ELEMENTS)
          throw new LvmFormatError(
            'PARSE_ERROR',
            `Array longer than ${MAX_ARRAY_ELEMENTS} elements at byte ${this.tokStart + 1} (line ${this.tokLine})`,
          );
        values.push(this.parseScalar(true));
        if (this.kind() === Tok.Comma) {
          this.valueContext = true;
          this.next();
        }
      }
      this.valueContext = false;
      this.next();
      return values;
    }
    return this.parseScalar(false);
  }

  private parseScalar(inArray: boolean): ConfigScalar {
    let value: ConfigScalar;
    switch (this.tokKind) {
      case Tok.String:
        value = this.stringValue();
        break;
      case Tok.Int:
        value = this.intValue();
        break;
      case Tok.Float:
        value = Number(this.text(this.tokStart, this.tokEnd));
        break;
      default:
        return this.fail();
    }
    this.valueContext = inArray;
    this.next();
    return value;
  }

  private intValue(): number {
    const raw = this.text(this.tokStart, this.tokEnd);
    let sign = 1;
    let digits = raw;
    if (digits[0] === '+' || digits[0] === '-') {
      if (digits[0] === '-') sign = -1;
      digits = digits.slice(1);
    }
    // strtoll base 0: a leading 0 means octal (spec 3.1); 0x is refused by the tokenizer.
    let value: number;
    if (digits.length > 1 && digits[0] === '0') {
      if (!/^[0-7]+$/.test(digits)) return this.fail();
      value = parseInt(digits, 8);
    } else {
      value = parseInt(digits, 10);
    }
    if (!Number.isSafeInteger(value))
      throw new LvmFormatError(
        'PARSE_ERROR',
        `Integer ${raw} out of range at byte ${this.tokStart + 1} (line ${this.tokLine})`,
      );
    return sign * value;
  }

  private stringValue(): string {
    const start = this.tokStart;
    const end = this.tokEnd;
    if (this.bareWord) return this.text(start, end);
    const quote = this.bytes[start];
    const inner = this.text(start + 1, end - 1);
    if (quote === CH_SQUOTE || !inner.includes('\\')) return inner;
    // Only \" and \\ are translated; other backslashes stay (libdm's unescape).
    return inner.replace(/\\(["\\])/g, '$1');
  }

  /** Bytes as a JS string: UTF-8 when it decodes cleanly, else one char per byte. */
  private text(start: number, end: number): string {
    const raw = this.src.slice(start, end);
    if (this.ascii || isAscii(this.bytes.subarray(start, end))) return raw;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(start, end));
    } catch {
      return latin1(this.bytes, start, end);
    }
  }

  private setTok(kind: Tok, start: number, end: number): void {
    this.tokKind = kind;
    this.tokStart = start;
    this.tokEnd = end;
  }

  /** The current token's kind (a method, so TypeScript does not narrow it across next()). */
  private kind(): Tok {
    return this.tokKind;
  }

  private expect(kind: Tok): void {
    if (this.kind() !== kind) this.fail();
    this.valueContext = false;
    this.next();
  }

  private fail(): never {
    throw new LvmFormatError(
      'PARSE_ERROR',
      `Parse error at byte ${this.tokStart + 1} (line ${this.tokLine}): unexpected token`,
    );
  }

  private next(): void {
    const src = this.src;
    const end = this.end;
    // skip whitespace and comments (locals and a table: this runs cold, interpreted, per byte)
    let pos = this.pos;
    for (;;) {
      while (pos < end && CHAR_CLASS[src.charCodeAt(pos)] === CLASS_SPACE) {
        if (src.charCodeAt(pos) === CH_NL) this.line++;
        pos++;
      }
      if (pos < end && src.charCodeAt(pos) === CH_HASH) {
        while (pos < end && src.charCodeAt(pos) !== CH_NL) pos++;
        continue;
      }
      break;
    }
    this.pos = pos;
    const start = pos;
    this.tokLine = this.line;
    if (start >= this.end) {
      this.setTok(Tok.Eof, start, start);
      return;
    }
    const c = src.charCodeAt(start) as number;
    let kind: Tok;
    let p = start + 1;
    switch (c) {
      case 0x7b:
        kind = Tok.SectionOpen;
        break;
      case 0x7d:
        kind = Tok.SectionClose;
        break;
      case 0x5b:
        kind = Tok.ArrayOpen;
        break;
      case 0x5d:
        kind = Tok.ArrayClose;
        break;
      case 0x2c:
        kind = Tok.Comma;
        break;
      case 0x3d:
        kind = Tok.Equals;
        break;
      case CH_DQUOTE:
      case CH_SQUOTE: {
        while (p < this.end && src.charCodeAt(p) !== c) {
          if (c === CH_DQUOTE && src.charCodeAt(p) === CH_BACKSLASH && p + 1 < this.end) p++;
          if (src.charCodeAt(p) === CH_NL) this.line++;
          p++;
        }
        if (p >= this.end) {
          this.setTok(Tok.Eof, start, p);
          this.fail();
        }
        p++;
        kind = Tok.String;
        break;
      }
      default: {
        if (this.valueContext && (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e)) {
          // number: sign, digits, at most one '.'
          let dots = c === 0x2e ? 1 : 0;
          while (p < this.end && (isDigit(src.charCodeAt(p) as number) || src.charCodeAt(p) === 0x2e)) {
            if (src.charCodeAt(p) === 0x2e) dots++;
            p++;
          }
          if (p < this.end && !endsWord(src.charCodeAt(p) as number, true)) {
            this.setTok(Tok.Int, start, p);
            this.fail();
          }
          const body = src.slice(start, p).replace(/^[+-]/, '');
          if (body.length === 0 || body === '.' || dots > 1) {
            this.setTok(Tok.Int, start, p);
            this.fail();
          }
          kind = dots === 1 ? Tok.Float : Tok.Int;
        } else {
          const stop = this.valueContext ? ENDS_VALUE_WORD : ENDS_KEY_WORD;
          while (p < end && ((CHAR_CLASS[src.charCodeAt(p)] as number) & stop) === 0) p++;
          kind = this.valueContext ? Tok.String : Tok.Identifier;
          if (this.valueContext) {
            // a bare word value: a string without quotes
            this.setTok(Tok.String, start, p);
            this.pos = p;
            this.bareWord = true;
            return;
          }
        }
      }
    }
    this.bareWord = false;
    this.setTok(kind, start, p);
    this.pos = p;
  }
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  const CHUNK = 8192;
  let out = '';
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[]);
  }
  return out;
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

/** Parses config text (bytes up to the first NUL, or a string). Throws PARSE_ERROR with lvm's wording. */
export function parseConfig(input: Uint8Array | string): ConfigSection {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  return new Parser(bytes).parseFile();
}

// ---- printing ----

/** Escapes `"` and `\` with a backslash (dm_escape_double_quotes plus backslashes, which the parser unescapes). */
export function escapeString(value: string): string {
  return value.replace(/(["\\])/g, '\\$1');
}

export function formatScalar(value: ConfigScalar): string {
  if (typeof value === 'string') return `"${escapeString(value)}"`;
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) throw new LvmFormatError('BAD_METADATA', `cannot print ${value}`);
  const text = String(value);
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

export function formatValue(value: ConfigValue): string {
  if (Array.isArray(value)) return `[${value.map(formatScalar).join(', ')}]`;
  return formatScalar(value);
}

const IDENTIFIER = /^[^\s#={}"'[\],\0]+$/;

function formatKey(key: string): string {
  return IDENTIFIER.test(key) && !/^[0-9+\-.]/.test(key) ? key : `"${escapeString(key)}"`;
}

/** Prints a tree; `indent` '\t' per level when `indented`. Comments on nodes are written after the value. */
export function printConfig(section: ConfigSection, indented = true): string {
  const lines: string[] = [];
  const walk = (nodes: ConfigSection, depth: number): void => {
    const pad = indented ? '\t'.repeat(depth) : '';
    for (const node of nodes) {
      if (node.children !== undefined) {
        lines.push(`${pad}${formatKey(node.key)} {`);
        walk(node.children, depth + 1);
        lines.push(`${pad}}`);
      } else if (node.value !== undefined) {
        lines.push(
          `${pad}${formatKey(node.key)} = ${formatValue(node.value)}${node.comment !== undefined ? `\t# ${node.comment}` : ''}`,
        );
      }
    }
  };
  walk(section, 0);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The first child node with `key` (lvm uses the first of duplicates). */
export function findNode(section: ConfigSection, key: string): ConfigNode | undefined {
  for (const node of section) if (node.key === key) return node;
  return undefined;
}
