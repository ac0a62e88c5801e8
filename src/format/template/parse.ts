import { LexError, lex, type Token } from './lexer.js';

/** The tree of a template, as Go's text/template/parse builds it (the parts we support). */
export type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; pipe: Pipe; pos: number }
  | { type: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList: Node[] | null; pos: number }
  | { type: 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | null; pos: number }
  | { type: 'template'; name: string; pipe: Pipe | null; pos: number }
  | { type: 'break' | 'continue'; pos: number };

export interface Pipe {
  decl: string[];
  /** `=` rather than `:=`. */
  assign: boolean;
  cmds: Command[];
  pos: number;
}

export interface Command {
  args: Arg[];
  pos: number;
}

export type Arg =
  | { type: 'field'; names: string[]; positions: number[]; pos: number }
  | { type: 'variable'; name: string; names: string[]; positions: number[]; pos: number }
  | { type: 'chain'; node: Arg; names: string[]; positions: number[]; pos: number }
  | { type: 'identifier'; name: string; pos: number }
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'bool'; value: boolean; pos: number }
  | { type: 'number'; value: number; text: string; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'pipe'; pipe: Pipe; pos: number };

export class ParseError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

export interface Tree {
  root: Node[];
  defines: Map<string, Node[]>;
}

export function parse(text: string, funcs: Set<string>): Tree {
  let tokens: Token[];
  try {
    tokens = lex(text).filter((t) => t.kind !== 'comment');
  } catch (err) {
    if (err instanceof LexError) throw new ParseError(err.message, err.pos);
    throw err;
  }
  return new Parser(tokens, funcs).run();
}

type EndMark = 'end' | 'else' | 'eof';

class Parser {
  private i = 0;
  private readonly defines = new Map<string, Node[]>();
  private readonly vars: string[][] = [['$']];
  private rangeDepth = 0;

  constructor(
    private readonly t: Token[],
    private readonly funcs: Set<string>,
  ) {}

  run(): Tree {
    const { list, end } = this.itemList(true);
    if (end.mark !== 'eof') throw new ParseError(`unexpected {{${end.mark}}}`, end.pos);
    return { root: list, defines: this.defines };
  }

  private chainedField(): boolean {
    const t = this.peek();
    return t.kind === 'field' && t.chained === true;
  }
  private peek(): Token {
    return this.t[this.i];
  }
  private next(): Token {
    return this.t[this.i++];
  }
  private expect(kind: Token['kind'], context: string): Token {
    const tok = this.next();
    if (tok.kind !== kind) throw new ParseError(`unexpected ${describe(tok)} in ${context}`, tok.pos);
    return tok;
  }

  /** Items up to {{end}}, {{else}} or the end of input. */
  private itemList(top: boolean): { list: Node[]; end: { mark: EndMark; pos: number; elseTok?: Token } } {
    const list: Node[] = [];
    for (;;) {
      const tok = this.next();
      if (tok.kind === 'eof') {
        if (!top) throw new ParseError('unexpected EOF', tok.pos);
        return { list, end: { mark: 'eof', pos: tok.pos } };
      }
      if (tok.kind === 'text') {
        list.push({ type: 'text', text: tok.value });
        continue;
      }
      // leftDelim
      const kw = this.peek();
      if (kw.kind === 'rightDelim') throw new ParseError('missing value for command', kw.pos);
      if (kw.kind === 'keyword') {
        this.next();
        switch (kw.value) {
          case 'end':
            this.expect('rightDelim', 'end');
            if (top) throw new ParseError('unexpected {{end}}', kw.pos);
            return { list, end: { mark: 'end', pos: kw.pos } };
          case 'else':
            if (top) throw new ParseError('unexpected {{else}}', kw.pos);
            return { list, end: { mark: 'else', pos: kw.pos, elseTok: kw } };
          case 'if':
          case 'with':
          case 'range':
            list.push(this.control(kw.value, kw.pos));
            continue;
          case 'define':
            this.define(kw.pos);
            continue;
          case 'template':
          case 'block':
            list.push(this.templateCall(kw.value, kw.pos));
            continue;
          case 'break':
          case 'continue':
            if (this.rangeDepth === 0) throw new ParseError(`{{${kw.value}}} outside {{range}}`, kw.pos);
            this.expect('rightDelim', kw.value);
            list.push({ type: kw.value, pos: kw.pos });
            continue;
        }
      }
      const pipe = this.pipeline('command', true);
      list.push({ type: 'action', pipe, pos: tok.pos });
    }
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    this.vars.push([]);
    const pipe = this.pipeline(kind, true);
    if (kind === 'range') this.rangeDepth++;
    const { list, end } = this.itemList(false);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (end.mark === 'else') {
      // `{{else if ...}}` and `{{else with ...}}` nest a new control as the else branch.
      const nxt = this.peek();
      if (
        (kind === 'if' && nxt.kind === 'keyword' && nxt.value === 'if') ||
        (kind === 'with' && nxt.kind === 'keyword' && nxt.value === 'with')
      ) {
        this.next();
        elseList = [this.control(kind, nxt.pos)];
        this.vars.pop();
        return { type: kind, pipe, list, elseList, pos } as Node;
      }
      this.expect('rightDelim', 'else');
      const rest = this.itemList(false);
      if (rest.end.mark !== 'end') throw new ParseError('expected end; found {{else}}', rest.end.pos);
      elseList = rest.list;
    }
    this.vars.pop();
    return { type: kind, pipe, list, elseList, pos } as Node;
  }

  private define(pos: number): void {
    const name = this.next();
    if (name.kind !== 'string' && name.kind !== 'rawString')
      throw new ParseError('define clause: name required', pos);
    this.expect('rightDelim', 'define clause');
    const { list, end } = this.itemList(false);
    if (end.mark !== 'end') throw new ParseError('unexpected {{else}} in define', end.pos);
    this.defines.set(unquote(name), list);
  }

  private templateCall(kw: string, pos: number): Node {
    const name = this.next();
    if (name.kind !== 'string' && name.kind !== 'rawString') {
      throw new ParseError(`unexpected ${describe(name)} in template clause`, name.pos);
    }
    let pipe: Pipe | null = null;
    if (this.peek().kind !== 'rightDelim') pipe = this.pipeline('template clause', false);
    else this.next();
    if (kw === 'block') {
      const { list, end } = this.itemList(false);
      if (end.mark !== 'end') throw new ParseError('unexpected {{else}} in block', end.pos);
      this.defines.set(unquote(name), list);
    }
    return { type: 'template', name: unquote(name), pipe, pos };
  }

  /** A pipeline up to `}}` (or `)` when inside parentheses). */
  private pipeline(context: string, allowDecl: boolean, inParens = false): Pipe {
    const pos = this.peek().pos;
    const decl: string[] = [];
    let assign = false;
    if (allowDecl && this.peek().kind === 'variable') {
      const save = this.i;
      const names: string[] = [this.next().value];
      while (this.peek().kind === 'comma' && context === 'range') {
        this.next();
        const v = this.next();
        if (v.kind !== 'variable') throw new ParseError('range can only initialize variables', v.pos);
        names.push(v.value);
      }
      const op = this.peek();
      if (op.kind === 'declare' || op.kind === 'assign') {
        this.next();
        assign = op.kind === 'assign';
        decl.push(...names);
        if (!assign) this.vars[this.vars.length - 1].push(...names);
      } else {
        this.i = save;
      }
    }
    const cmds: Command[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.kind === 'rightDelim' && !inParens) {
        this.next();
        break;
      }
      if (tok.kind === 'rightParen' && inParens) {
        this.next();
        break;
      }
      if (tok.kind === 'eof') throw new ParseError('unclosed action', tok.pos);
      cmds.push(this.command(inParens));
      const after = this.peek();
      if (after.kind === 'pipe') {
        this.next();
      }
    }
    if (cmds.length === 0) throw new ParseError(`missing value for ${context}`, pos);
    return { decl, assign, cmds, pos };
  }

  private command(inParens: boolean): Command {
    const pos = this.peek().pos;
    const args: Arg[] = [];
    for (;;) {
      const tok = this.peek();
      if (
        tok.kind === 'pipe' ||
        (tok.kind === 'rightDelim' && !inParens) ||
        (tok.kind === 'rightParen' && inParens)
      )
        break;
      if (tok.kind === 'eof') throw new ParseError('unclosed action', tok.pos);
      args.push(this.operand());
    }
    if (args.length === 0) throw new ParseError('missing value for command', pos);
    return { args, pos };
  }

  private operand(): Arg {
    const tok = this.next();
    let node: Arg;
    switch (tok.kind) {
      case 'field': {
        const names = [tok.value.slice(1)];
        const positions = [tok.pos];
        while (this.chainedField()) {
          const f = this.next();
          names.push(f.value.slice(1));
          positions.push(f.pos);
        }
        return { type: 'field', names, positions, pos: tok.pos };
      }
      case 'variable': {
        if (!this.vars.some((scope) => scope.includes(tok.value))) {
          throw new ParseError(`undefined variable "${tok.value}"`, tok.pos);
        }
        node = { type: 'variable', name: tok.value, names: [], positions: [], pos: tok.pos };
        break;
      }
      case 'identifier':
        if (!this.funcs.has(tok.value)) throw new ParseError(`function "${tok.value}" not defined`, tok.pos);
        node = { type: 'identifier', name: tok.value, pos: tok.pos };
        break;
      case 'dot':
        node = { type: 'dot', pos: tok.pos };
        break;
      case 'nil':
        node = { type: 'nil', pos: tok.pos };
        break;
      case 'bool':
        node = { type: 'bool', value: tok.value === 'true', pos: tok.pos };
        break;
      case 'number':
        node = { type: 'number', value: parseNumber(tok), text: tok.value, pos: tok.pos };
        break;
      case 'string':
      case 'rawString':
        node = { type: 'string', value: unquote(tok), pos: tok.pos };
        break;
      case 'leftParen':
        node = { type: 'pipe', pipe: this.pipeline('parenthesized pipeline', true, true), pos: tok.pos };
        break;
      default:
        throw new ParseError(`unexpected ${describe(tok)} in operand`, tok.pos);
    }
    if (this.chainedField()) {
      const names: string[] = [];
      const positions: number[] = [];
      while (this.chainedField()) {
        const f = this.next();
        names.push(f.value.slice(1));
        positions.push(f.pos);
      }
      if (node.type === 'variable') {
        node.names = names;
        node.positions = positions;
      } else node = { type: 'chain', node, names, positions, pos: tok.pos };
    }
    return node;
  }
}

function describe(t: Token): string {
  if (t.kind === 'rightDelim') return '"}}"';
  if (t.kind === 'eof') return 'EOF';
  return `"${t.value}"`;
}

function parseNumber(t: Token): number {
  const s = t.value.replaceAll('_', '');
  const n = /^[+-]?0[xXbBoO]/.test(s)
    ? Number(s.replace(/^([+-]?)0([xXbBoO])/, (_, sign, b) => `${sign}0${b.toLowerCase()}`))
    : Number(s);
  if (Number.isNaN(n)) throw new ParseError(`bad number syntax: "${t.value}"`, t.pos);
  return n;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Go's strconv.Unquote for "..." strings; raw strings are taken as they are. */
function unquote(t: Token): string {
  if (t.kind === 'rawString') return t.value;
  const body = t.value.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    if (e in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[e];
    if (/^[xuU]/.test(e)) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    throw new ParseError(`invalid syntax`, t.pos);
  });
}
