/**
 * Go's text/tabwriter: cells end at a TAB, consecutive lines that share a column form a block
 * whose width is the widest cell plus padding, and the last cell of a line is never padded. `ls`
 * and the help screens must match the original byte for byte, so this follows Go's algorithm.
 */
export interface TabwriterOptions {
  minwidth: number;
  tabwidth: number;
  padding: number;
  padchar: string;
}

interface Cell {
  text: string;
  width: number;
}

const runeCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export function tabwrite(text: string, opts: TabwriterOptions): string {
  const parts = text.split('\n');
  const trailing = parts.pop() ?? '';
  const lines: Cell[][] = parts.map((l) => l.split('\t').map((t) => ({ text: t, width: runeCount(t) })));
  if (trailing !== '') lines.push(trailing.split('\t').map((t) => ({ text: t, width: runeCount(t) })));

  const out: string[] = [];
  const widths: number[] = [];

  const pad = (textw: number, cellw: number): string => {
    if (opts.padchar === '\t') {
      if (opts.tabwidth === 0) return '';
      const w = Math.ceil(cellw / opts.tabwidth) * opts.tabwidth;
      return '\t'.repeat(Math.ceil((w - textw) / opts.tabwidth));
    }
    return opts.padchar.repeat(cellw - textw);
  };

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      let s = '';
      lines[i].forEach((c, j) => {
        s += c.text;
        if (j < widths.length && j < lines[i].length - 1) s += pad(c.width, widths[j]);
      });
      const last = i === lines.length - 1 && trailing !== '';
      out.push(last ? s : `${s}\n`);
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i].length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = opts.minwidth;
      for (; i < line1 && column < lines[i].length - 1; i++) {
        width = Math.max(width, lines[i][column].width + opts.padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('');
}
