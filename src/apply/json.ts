import { DocError, type Node } from './doc.js';

/** JSON as nodes that remember their line, so that a JSON apply file's errors name the line too. */
export function parseJson(source: string): Node {
  const p = new JsonParser(source);
  const node = p.value();
  p.space();
  if (p.pos < source.length) throw new DocError(p.line(), 'unexpected text after the JSON value');
  return node;
}

class JsonParser {
  pos = 0;
  constructor(private readonly s: string) {}

  line(at = this.pos): number {
    let n = 1;
    for (let i = 0; i < at && i < this.s.length; i++) if (this.s[i] === '\n') n++;
    return n;
  }

  space(): void {
    while (/[ \t\r\n]/.test(this.s[this.pos] ?? '')) this.pos++;
  }

  value(): Node {
    this.space();
    const line = this.line();
    const c = this.s[this.pos];
    if (c === '{') return this.object(line);
    if (c === '[') return this.array(line);
    if (c === '"') return { kind: 'scalar', line, value: this.string(), quoted: true };
    const m = /^(true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)/.exec(
      this.s.slice(this.pos),
    );
    if (!m)
      throw new DocError(
        line,
        c === undefined ? 'the JSON ends early' : `unexpected ${JSON.stringify(c)} in JSON`,
      );
    this.pos += m[0].length;
    const v = m[0] === 'true' ? true : m[0] === 'false' ? false : m[0] === 'null' ? null : Number(m[0]);
    return { kind: 'scalar', line, value: v, quoted: false };
  }

  private string(): string {
    const start = this.pos;
    const m = /^"(?:[^"\\\n\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(this.s.slice(start));
    if (!m) throw new DocError(this.line(), 'a bad or unclosed JSON string');
    this.pos += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  private object(line: number): Node {
    this.pos++;
    const entries = new Map<string, { keyLine: number; value: Node }>();
    this.space();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return { kind: 'map', line, entries };
    }
    for (;;) {
      this.space();
      const keyLine = this.line();
      if (this.s[this.pos] !== '"') throw new DocError(keyLine, 'a quoted key expected in the JSON object');
      const key = this.string();
      this.space();
      if (this.s[this.pos++] !== ':')
        throw new DocError(this.line(), `a ":" expected after the key "${key}"`);
      if (entries.has(key)) throw new DocError(keyLine, `the key "${key}" is given twice`);
      entries.set(key, { keyLine, value: this.value() });
      this.space();
      const d = this.s[this.pos++];
      if (d === '}') return { kind: 'map', line, entries };
      if (d !== ',') throw new DocError(this.line(this.pos - 1), 'a "," or "}" expected in the JSON object');
    }
  }

  private array(line: number): Node {
    this.pos++;
    const items: Node[] = [];
    this.space();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return { kind: 'list', line, items };
    }
    for (;;) {
      items.push(this.value());
      this.space();
      const d = this.s[this.pos++];
      if (d === ']') return { kind: 'list', line, items };
      if (d !== ',') throw new DocError(this.line(this.pos - 1), 'a "," or "]" expected in the JSON array');
    }
  }
}
