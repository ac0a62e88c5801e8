/**
 * Tokens of Go's text/template: text between actions, and inside `{{ }}` the items of pipelines.
 * Trim markers (`{{- ` and ` -}}`) remove the white space next to them, as in Go.
 */
export type TokenKind =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'string'
  | 'rawString'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'comment'
  | 'eof';

export interface Token {
  kind: TokenKind;
  value: string;
  /** Byte offset in the template, for Go-style line:col in messages. */
  pos: number;
  /** A field written right after the previous operand (`$x.A`, `(pipe).A`, `.A.B`), not after a space. */
  chained?: boolean;
}

export class LexError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
]);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string) => /[A-Za-z0-9_]/.test(c) || c > '\x7f';

export function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const open = input.indexOf('{{', i);
    if (open < 0) {
      out.push({ kind: 'text', value: input.slice(i), pos: i });
      break;
    }
    let text = input.slice(i, open);
    let start = open + 2;
    // `{{- ` trims the white space before the action.
    if (input[start] === '-' && isSpace(input[start + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 2;
    }
    if (text !== '') out.push({ kind: 'text', value: text, pos: i });
    const comment = commentOnly(input, start);
    if (comment !== undefined) {
      i = comment;
      continue;
    }
    i = lexAction(input, start, open, out);
  }
  out.push({ kind: 'eof', value: '', pos: input.length });
  return out;
}

/** An action that holds only a comment is no action at all; returns where the text after it starts. */
function commentOnly(input: string, from: number): number | undefined {
  if (!input.startsWith('/*', from)) return undefined;
  const end = input.indexOf('*/', from + 2);
  if (end < 0) throw new LexError('unclosed comment', from);
  let j = end + 2;
  if (input.startsWith(' -}}', j)) {
    j += 4;
    while (j < input.length && isSpace(input[j])) j++;
    return j;
  }
  if (input.startsWith('}}', j)) return j + 2;
  throw new LexError('comment ends before closing delimiter', from);
}

/** Lex one action from `from`; returns where the text after it starts. */
function lexAction(input: string, from: number, open: number, out: Token[]): number {
  out.push({ kind: 'leftDelim', value: '{{', pos: open });
  let i = from;
  let parens = 0;
  for (;;) {
    while (i < input.length && isSpace(input[i])) i++;
    if (i >= input.length) throw new LexError('unclosed action', open);
    // ` -}}` trims the white space after the action.
    if (input.startsWith('-}}', i) && i > from && isSpace(input[i - 1])) {
      out.push({ kind: 'rightDelim', value: '}}', pos: i });
      let j = i + 3;
      while (j < input.length && isSpace(input[j])) j++;
      return j;
    }
    if (input.startsWith('}}', i)) {
      if (parens > 0) throw new LexError('unclosed left paren', i);
      out.push({ kind: 'rightDelim', value: '}}', pos: i });
      return i + 2;
    }
    const c = input[i];
    const pos = i;
    if (input.startsWith('/*', i)) {
      const end = input.indexOf('*/', i + 2);
      if (end < 0) throw new LexError('unclosed comment', pos);
      out.push({ kind: 'comment', value: input.slice(i, end + 2), pos });
      i = end + 2;
      continue;
    }
    if (c === '|') {
      out.push({ kind: 'pipe', value: c, pos });
      i++;
    } else if (c === '(') {
      parens++;
      out.push({ kind: 'leftParen', value: c, pos });
      i++;
    } else if (c === ')') {
      parens--;
      if (parens < 0) throw new LexError(`unexpected right paren`, pos);
      out.push({ kind: 'rightParen', value: c, pos });
      i = lexFieldChain(input, i + 1, out);
    } else if (c === ',') {
      out.push({ kind: 'comma', value: c, pos });
      i++;
    } else if (input.startsWith(':=', i)) {
      out.push({ kind: 'declare', value: ':=', pos });
      i += 2;
    } else if (c === '=') {
      out.push({ kind: 'assign', value: '=', pos });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') {
        if (input[j] === '\\') j++;
        if (input[j] === '\n') throw new LexError('unterminated quoted string', pos);
        j++;
      }
      if (j >= input.length) throw new LexError('unterminated quoted string', pos);
      out.push({ kind: 'string', value: input.slice(i, j + 1), pos });
      i = j + 1;
    } else if (c === '`') {
      const end = input.indexOf('`', i + 1);
      if (end < 0) throw new LexError('unterminated raw quoted string', pos);
      out.push({ kind: 'rawString', value: input.slice(i + 1, end), pos });
      i = end + 1;
    } else if (c === '$') {
      let j = i + 1;
      while (j < input.length && isAlnum(input[j])) j++;
      out.push({ kind: 'variable', value: input.slice(i, j), pos });
      i = j;
      i = lexFieldChain(input, i, out);
    } else if (c === '.') {
      if (/[0-9]/.test(input[i + 1] ?? '')) {
        i = lexNumber(input, i, out);
      } else if (!isAlnum(input[i + 1] ?? '')) {
        out.push({ kind: 'dot', value: '.', pos });
        i++;
      } else {
        i = lexFieldChain(input, i, out, false);
      }
    } else if (/[0-9+-]/.test(c)) {
      i = lexNumber(input, i, out);
    } else if (isAlnum(c)) {
      let j = i;
      while (j < input.length && isAlnum(input[j])) j++;
      const word = input.slice(i, j);
      const kind: TokenKind = KEYWORDS.has(word)
        ? 'keyword'
        : word === 'true' || word === 'false'
          ? 'bool'
          : word === 'nil'
            ? 'nil'
            : 'identifier';
      out.push({ kind, value: word, pos });
      i = j;
      i = lexFieldChain(input, i, out);
    } else {
      const hex = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw new LexError(`bad character U+${hex} '${c}'`, pos);
    }
  }
}

/** `.A.B` right after an operand: each `.Name` is a field token chained to what precedes it. */
function lexFieldChain(input: string, i: number, out: Token[], firstChained = true): number {
  let chained = firstChained;
  while (input[i] === '.' && isAlnum(input[i + 1] ?? '') && !/[0-9]/.test(input[i + 1])) {
    let j = i + 1;
    while (j < input.length && isAlnum(input[j])) j++;
    out.push({ kind: 'field', value: input.slice(i, j), pos: i, chained });
    chained = true;
    i = j;
  }
  return i;
}

function lexNumber(input: string, i: number, out: Token[]): number {
  const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
    input.slice(i),
  );
  const text = m?.[0] ?? '';
  if (text === '' || text === '+' || text === '-')
    throw new LexError(`bad number syntax: "${input.slice(i, i + 1)}"`, i);
  out.push({ kind: 'number', value: text, pos: i });
  return i + text.length;
}
