import { DocError, type Node } from './doc.js';

/**
 * The YAML an apply file needs, no more: block maps and lists (a list item may start a map),
 * flow lists and maps on one line, plain, single- and double-quoted scalars, comments. Anchors,
 * tags, multi-line strings and several documents are refused with the line, not guessed at.
 */
interface Line {
  indent: number;
  text: string;
  line: number;
}

export function parseYaml(source: string): Node {
  const lines: Line[] = [];
  for (const [i, raw] of source.split(/\r?\n/).entries()) {
    const n = i + 1;
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') continue;
    const indent = text.length - text.trimStart().length;
    if (/^\s*\t/.test(raw)) throw new DocError(n, 'a tab in the indentation: indent with spaces');
    const body = text.slice(indent);
    if (body === '---' && lines.length === 0) continue;
    if (body === '---' || body === '...') throw new DocError(n, 'several YAML documents: give one');
    if (/^[&*!|>%@`]/.test(body)) throw new DocError(n, `unsupported YAML (${body[0]}): see docs/apply.md`);
    lines.push({ indent, text: body, line: n });
  }
  if (lines.length === 0) return { kind: 'map', line: 1, entries: new Map() };
  const p = new BlockParser(lines);
  const node = p.block(lines[0].indent);
  if (p.i < lines.length) throw new DocError(lines[p.i].line, 'unexpected indentation');
  return node;
}

class BlockParser {
  i = 0;
  constructor(private readonly lines: Line[]) {}

  block(indent: number): Node {
    const l = this.lines[this.i];
    return isItem(l.text) ? this.list(indent) : this.map(indent);
  }

  private list(indent: number): Node {
    const first = this.lines[this.i];
    const items: Node[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent) throw new DocError(l.line, 'unexpected indentation');
      if (!isItem(l.text)) break;
      const rest = l.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        const next = this.lines[this.i];
        if (next && next.indent > indent) items.push(this.block(next.indent));
        else items.push({ kind: 'scalar', line: l.line, value: null, quoted: false });
        continue;
      }
      if (keyOf(rest, l.line) !== undefined || isItem(rest)) {
        // The item's content starts a block at its own column: `- name: a` then `  driver: b`.
        const col = indent + (l.text.length - rest.length);
        this.lines[this.i] = { indent: col, text: rest, line: l.line };
        items.push(this.block(col));
        continue;
      }
      this.i++;
      items.push(inline(rest, l.line));
    }
    return { kind: 'list', line: first.line, items };
  }

  private map(indent: number): Node {
    const first = this.lines[this.i];
    const entries = new Map<string, { keyLine: number; value: Node }>();
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent) throw new DocError(l.line, 'unexpected indentation');
      if (isItem(l.text)) throw new DocError(l.line, 'a list item where a key was expected');
      const kv = keyOf(l.text, l.line);
      if (kv === undefined)
        throw new DocError(l.line, `expected "key: value", got ${JSON.stringify(l.text)}`);
      if (entries.has(kv.key)) throw new DocError(l.line, `the key "${kv.key}" is given twice`);
      this.i++;
      let value: Node;
      if (kv.rest !== '') {
        value = inline(kv.rest, l.line);
      } else {
        const next = this.lines[this.i];
        // A list may sit at its key's own column (`flags:` then `- a`), as YAML allows.
        if (next && (next.indent > indent || (next.indent === indent && isItem(next.text))))
          value = this.block(next.indent);
        else value = { kind: 'scalar', line: l.line, value: null, quoted: false };
      }
      entries.set(kv.key, { keyLine: l.line, value });
    }
    return { kind: 'map', line: first.line, entries };
  }
}

function isItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** `key: rest` (the key plain or quoted), or undefined when the text is not a map entry. */
function keyOf(text: string, line: number): { key: string; rest: string } | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'[{#,][^:]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (!m) return undefined;
  const raw = m[1];
  const key = raw.startsWith('"') || raw.startsWith("'") ? String(quoted(raw, line)) : raw;
  return { key, rest: (m[2] ?? '').trim() };
}

/** A value on the key's or item's line: a flow list or map, or a scalar. */
function inline(text: string, line: number): Node {
  const f = new FlowParser(text, line);
  const node = f.value(true);
  f.skipSpace();
  if (f.pos < text.length)
    throw new DocError(line, `unexpected ${JSON.stringify(text.slice(f.pos))} after the value`);
  return node;
}

class FlowParser {
  pos = 0;
  constructor(
    private readonly s: string,
    private readonly line: number,
  ) {}

  skipSpace(): void {
    while (this.s[this.pos] === ' ') this.pos++;
  }

  value(top: boolean): Node {
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === '[') return this.list();
    if (c === '{') return this.map();
    if (c === '"' || c === "'") {
      const end = quoteEnd(this.s, this.pos, this.line);
      const v = quoted(this.s.slice(this.pos, end), this.line);
      this.pos = end;
      return { kind: 'scalar', line: this.line, value: v, quoted: true };
    }
    // A plain scalar runs to the end of the line, or inside a flow to the next , ] or }.
    const stop = top ? /$/ : /[,\]}]|$/;
    const rest = this.s.slice(this.pos);
    const end = rest.search(stop);
    const raw = rest.slice(0, end).trim();
    if (/^[&*!|>%@`]/.test(raw))
      throw new DocError(this.line, `unsupported YAML (${raw[0]}): see docs/apply.md`);
    this.pos += end;
    return { kind: 'scalar', line: this.line, value: plain(raw), quoted: false };
  }

  private list(): Node {
    this.pos++;
    const items: Node[] = [];
    this.skipSpace();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return { kind: 'list', line: this.line, items };
    }
    for (;;) {
      items.push(this.value(false));
      this.skipSpace();
      const c = this.s[this.pos++];
      if (c === ']') return { kind: 'list', line: this.line, items };
      if (c !== ',') throw new DocError(this.line, 'a flow list must close with ] on its line');
    }
  }

  private map(): Node {
    this.pos++;
    const entries = new Map<string, { keyLine: number; value: Node }>();
    this.skipSpace();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return { kind: 'map', line: this.line, entries };
    }
    for (;;) {
      this.skipSpace();
      let key: string;
      const c = this.s[this.pos];
      if (c === '"' || c === "'") {
        const end = quoteEnd(this.s, this.pos, this.line);
        key = String(quoted(this.s.slice(this.pos, end), this.line));
        this.pos = end;
      } else {
        const m = /^[^:,{}[\]]+/.exec(this.s.slice(this.pos));
        if (!m) throw new DocError(this.line, 'a key expected in the flow map');
        key = m[0].trim();
        this.pos += m[0].length;
      }
      this.skipSpace();
      if (this.s[this.pos++] !== ':') throw new DocError(this.line, `a ":" expected after the key "${key}"`);
      if (entries.has(key)) throw new DocError(this.line, `the key "${key}" is given twice`);
      entries.set(key, { keyLine: this.line, value: this.value(false) });
      this.skipSpace();
      const d = this.s[this.pos++];
      if (d === '}') return { kind: 'map', line: this.line, entries };
      if (d !== ',') throw new DocError(this.line, 'a flow map must close with } on its line');
    }
  }
}

function quoteEnd(s: string, start: number, line: number): number {
  const q = s[start];
  for (let i = start + 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === q) {
      if (q === "'" && s[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  throw new DocError(line, 'a quoted string must close on its line');
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  '\\': '\\',
  '/': '/',
  '0': '\0',
};

function quoted(raw: string, line: number): string {
  const body = raw.slice(1, -1);
  if (raw[0] === "'") return body.replaceAll("''", "'");
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const v = ESCAPES[e];
    if (v === undefined) throw new DocError(line, `unknown escape \\${e} in a quoted string`);
    return v;
  });
}

/** YAML 1.2's core schema, as far as an apply file needs it. */
function plain(raw: string): string | number | boolean | null {
  if (raw === '' || raw === '~' || raw === 'null' || raw === 'Null' || raw === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(raw)) return true;
  if (/^(false|False|FALSE)$/.test(raw)) return false;
  if (/^[-+]?[0-9]+$/.test(raw)) return Number(raw);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** The line without its comment: `#` at its start or after a space, outside quotes. */
function stripComment(raw: string): string {
  let q: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (q) {
      if (q === '"' && c === '\\') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === "'") {
      // A quote inside a plain scalar (it's) is a character, not the start of a string.
      if (i === 0 || /[\s[{,:-]/.test(raw[i - 1])) q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1]))) {
      return raw.slice(0, i);
    }
  }
  return raw;
}
