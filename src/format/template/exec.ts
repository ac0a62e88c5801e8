import { formatValue, isGoStruct, STRUCT } from '../gofmt.js';
import { builtins, FuncError, MISSING, truth } from './funcs.js';
import type { Arg, Command, Node, Pipe, Tree } from './parse.js';

/** Runs a parsed template over data the way Go's text/template does. */
export class ExecError extends Error {
  readonly pos: number;
  readonly at: string;
  constructor(message: string, pos: number, at: string) {
    super(message);
    this.pos = pos;
    this.at = at;
  }
}

class Break {}
class Continue {}

type Scope = Map<string, unknown>;

export type Funcs = Record<string, (...args: unknown[]) => unknown>;

export function execute(tree: Tree, data: unknown, funcs: Funcs): string {
  const ex = new Executor(tree, { ...builtins, ...funcs });
  ex.walk(tree.root, data, [new Map([['$', data]])]);
  return ex.out;
}

function argText(a: Arg): string {
  switch (a.type) {
    case 'field':
      return `.${a.names.join('.')}`;
    case 'variable':
      return a.name + a.names.map((n) => `.${n}`).join('');
    case 'chain':
      return `${argText(a.node)}.${a.names.join('.')}`;
    case 'identifier':
      return a.name;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.value);
    case 'number':
      return a.text;
    case 'string':
      return JSON.stringify(a.value);
    case 'pipe':
      return `(${a.pipe.cmds.map((c) => c.args.map(argText).join(' ')).join(' | ')})`;
  }
}

class Executor {
  out = '';
  constructor(
    private readonly tree: Tree,
    private readonly funcs: Funcs,
  ) {}

  walk(nodes: Node[], dot: unknown, scopes: Scope[]): void {
    for (const n of nodes) this.node(n, dot, scopes);
  }

  private node(n: Node, dot: unknown, scopes: Scope[]): void {
    switch (n.type) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = this.pipe(n.pipe, dot, scopes);
        if (n.pipe.decl.length === 0) this.out += printable(v);
        return;
      }
      case 'if':
      case 'with': {
        const inner = [...scopes, new Map()];
        const v = this.pipe(n.pipe, dot, inner);
        if (truth(v)) this.walk(n.list, n.type === 'with' ? v : dot, inner);
        else if (n.elseList) this.walk(n.elseList, dot, inner);
        return;
      }
      case 'range':
        this.range(n, dot, scopes);
        return;
      case 'template': {
        const body = this.tree.defines.get(n.name);
        if (!body) throw new ExecError(`template "${n.name}" not defined`, n.pos, `{{template "${n.name}"}}`);
        const d = n.pipe ? this.pipe(n.pipe, dot, scopes) : undefined;
        this.walk(body, d, [new Map([['$', d]])]);
        return;
      }
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
    }
  }

  private range(n: Extract<Node, { type: 'range' }>, dot: unknown, scopes: Scope[]): void {
    const scope: Scope = new Map();
    const inner = [...scopes, scope];
    const v = this.pipe({ ...n.pipe, decl: [] }, dot, inner);
    let items: [unknown, unknown][];
    if (v === null || v === undefined || v === MISSING) items = [];
    else if (Array.isArray(v)) items = v.map((e, i) => [i, e]);
    else if (typeof v === 'object' && !isGoStruct(v)) {
      const o = v as Record<string, unknown>;
      items = Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]);
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      items = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    } else {
      const last = n.pipe.cmds[n.pipe.cmds.length - 1];
      throw new ExecError(
        `range can't iterate over ${formatValue(v)}`,
        last.pos,
        last.args.map(argText).join(' '),
      );
    }
    if (items.length === 0) {
      if (n.elseList) this.walk(n.elseList, dot, inner);
      return;
    }
    for (const [k, e] of items) {
      if (n.pipe.decl.length === 1) scope.set(n.pipe.decl[0], e);
      else if (n.pipe.decl.length === 2) {
        scope.set(n.pipe.decl[0], k);
        scope.set(n.pipe.decl[1], e);
      }
      try {
        this.walk(n.list, e, inner);
      } catch (sig) {
        if (sig instanceof Break) break;
        if (sig instanceof Continue) continue;
        throw sig;
      }
    }
  }

  private pipe(p: Pipe, dot: unknown, scopes: Scope[]): unknown {
    let v: unknown = MISSING;
    let first = true;
    for (const c of p.cmds) {
      v = this.command(c, dot, scopes, first ? undefined : { value: v });
      first = false;
    }
    for (const name of p.decl) {
      if (p.assign) {
        const s = [...scopes].reverse().find((sc) => sc.has(name));
        if (s) s.set(name, v);
      } else {
        scopes[scopes.length - 1].set(name, v);
      }
    }
    return v;
  }

  private command(c: Command, dot: unknown, scopes: Scope[], final?: { value: unknown }): unknown {
    const [head, ...rest] = c.args;
    if (head.type === 'identifier') {
      try {
        return this.call(head.name, rest, dot, scopes, final);
      } catch (err) {
        if (err instanceof FuncError) {
          throw new ExecError(
            `error calling ${head.name}: ${err.message}`,
            c.pos,
            c.args.map(argText).join(' '),
          );
        }
        throw err;
      }
    }
    if (head.type === 'nil') throw new ExecError('nil is not a command', head.pos, 'nil');
    try {
      if (rest.length > 0 || final) {
        if (head.type === 'field' || head.type === 'chain' || head.type === 'variable') {
          throw new FuncError(`${argText(head)} is not a method but has arguments`);
        }
        throw new FuncError(`can't give argument to non-function ${argText(head)}`);
      }
      return this.arg(head, dot, scopes);
    } catch (err) {
      if (err instanceof FuncError) throw new ExecError(err.message, head.pos, argText(head));
      throw err;
    }
  }

  private call(
    name: string,
    args: Arg[],
    dot: unknown,
    scopes: Scope[],
    final?: { value: unknown },
  ): unknown {
    const values = () => {
      const vs = args.map((a) => this.arg(a, dot, scopes));
      if (final) vs.push(final.value);
      return vs.map((v) => (v === MISSING ? null : v));
    };
    if (name === 'and' || name === 'or') {
      const thunks: (() => unknown)[] = args.map((a) => () => this.arg(a, dot, scopes));
      if (final) thunks.push(() => final.value);
      if (thunks.length === 0) throw new FuncError(`wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const t of thunks) {
        v = t();
        if (name === 'and' ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    if (name === 'call') {
      const [fn, ...rest] = values();
      if (typeof fn !== 'function') throw new FuncError('call of non-function');
      return fn(...rest);
    }
    const fn = this.funcs[name];
    return fn(...values());
  }

  arg(a: Arg, dot: unknown, scopes: Scope[]): unknown {
    switch (a.type) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return a.value;
      case 'field':
        return fieldChain(dot, a, false);
      case 'variable': {
        const s = [...scopes].reverse().find((sc) => sc.has(a.name));
        if (!s) throw new ExecError(`undefined variable: ${a.name}`, a.pos, a.name);
        return fieldChain(s.get(a.name), a, true);
      }
      case 'chain':
        return fieldChain(this.arg(a.node, dot, scopes), a, true);
      case 'pipe':
        return this.pipe(a.pipe, dot, scopes);
      case 'identifier':
        return this.call(a.name, [], dot, scopes);
    }
  }
}

/**
 * `.A.B` on a value. A value that came out of a map is an `interface {}` to Go, which is what its
 * error names; a struct's field has its own type.
 */
function fieldChain(v: unknown, a: Extract<Arg, { names: string[] }>, fromVariable: boolean): unknown {
  let cur = v;
  let fromMap = fromVariable;
  for (let i = 0; i < a.names.length; i++) {
    const name = a.names[i];
    const fail = (type: string) =>
      // Go reports a chain at the position of its second element (its parser's chain node).
      new ExecError(`can't evaluate field ${name} in type ${type}`, a.positions[1] ?? a.pos, argText(a));
    if (cur === MISSING || cur === null || cur === undefined) {
      cur = MISSING;
      continue;
    }
    if (isGoStruct(cur)) {
      if (!Object.hasOwn(cur, name)) throw fail(cur[STRUCT]);
      cur = cur[name];
      fromMap = false;
    } else if (Array.isArray(cur)) {
      throw fail(fromMap ? 'interface {}' : '[]interface {}');
    } else if (typeof cur === 'object') {
      const o = cur as Record<string, unknown>;
      cur = Object.hasOwn(o, name) ? o[name] : MISSING;
      fromMap = true;
    } else {
      throw fail(
        fromMap
          ? 'interface {}'
          : typeof cur === 'number'
            ? 'float64'
            : typeof cur === 'boolean'
              ? 'bool'
              : 'string',
      );
    }
  }
  return cur;
}

function printable(v: unknown): string {
  if (v === MISSING || v === null || v === undefined) return '<no value>';
  return formatValue(v);
}
