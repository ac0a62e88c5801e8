import { goStruct as makeStruct } from '../gofmt.js';
import { ExecError, execute, type Funcs } from './exec.js';
import { builtins } from './funcs.js';
import { ParseError, parse, type Tree } from './parse.js';

/** A Go text/template subset: enough for every --format the original accepts. */
export type TemplateFunc = (...args: unknown[]) => unknown;

/** Its message is Go's: `template: :1: unclosed action`, `template: :1:2: executing "" at <.X>: ...`. */
export class TemplateError extends Error {}

export interface Template {
  execute(data: unknown): string;
}

/** A value that behaves like a Go struct: asking for a field it lacks is an error. */
export const goStruct = makeStruct;

function lineOf(text: string, pos: number): number {
  return text.slice(0, pos).split('\n').length;
}

export function parseTemplate(
  text: string,
  opts: { name?: string; funcs?: Record<string, TemplateFunc> } = {},
): Template {
  const name = opts.name ?? '';
  const funcs: Funcs = opts.funcs ?? {};
  let tree: Tree;
  try {
    tree = parse(text, new Set([...Object.keys(builtins), 'and', 'or', 'call', ...Object.keys(funcs)]));
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const line = lineOf(text, err.pos);
    if (err.message === 'unclosed action') {
      const endLine = lineOf(text, text.length);
      if (endLine !== line)
        throw new TemplateError(`template: ${name}:${endLine}: unclosed action started at ${name}:${line}`);
    }
    throw new TemplateError(`template: ${name}:${line}: ${err.message}`);
  }
  return {
    execute(data: unknown): string {
      try {
        return execute(tree, data, funcs);
      } catch (err) {
        if (!(err instanceof ExecError)) {
          if (err instanceof Error && !(err instanceof TemplateError)) {
            throw new TemplateError(`template: ${name}: executing "${name}": ${err.message}`);
          }
          throw err;
        }
        const line = lineOf(text, err.pos);
        const col = err.pos - (text.lastIndexOf('\n', err.pos - 1) + 1);
        throw new TemplateError(
          `template: ${name}:${line}:${col}: executing "${name}" at <${err.at}>: ${err.message}`,
        );
      }
    },
  };
}
