import type { ProgressEvent } from '../api/events.js';
import { flagBool } from '../flags/def.js';
import type { CommandContext } from './command.js';

/**
 * A fleet on a terminal: one line per machine, redrawn in place, with its current step and the
 * time it has taken, instead of every machine's lines interleaved. Lines about the whole fleet
 * (and warnings) print above the block. Only for a terminal: a pipe or file gets the plain
 * `NAME | line` lines, unchanged.
 */
interface Row {
  step: string;
  state: 'waiting' | 'running' | 'done' | 'failed';
  started?: number;
  ended?: number;
}

export interface LiveViewOptions {
  write: (s: string) => void;
  columns: () => number;
  now?: () => number;
  /** Redraw period, so that elapsed times move while a step takes long. */
  tickMs?: number;
}

export class LiveView {
  private readonly rows = new Map<string, Row>();
  private readonly width: number;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  /**
   * `names` sets the name column's width and, unless `rowsOnStart`, the rows; with `rowsOnStart`
   * (apply, whose plan decides which machines change) a machine's row appears when it starts.
   */
  constructor(
    names: string[],
    private readonly opts: LiveViewOptions,
    private readonly rowsOnStart = false,
  ) {
    if (!rowsOnStart) for (const n of names) this.rows.set(n, { step: 'waiting', state: 'waiting' });
    this.width = Math.max(1, ...names.map((n) => n.length));
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.redraw();
    this.timer = setInterval(() => this.redraw(), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.redraw();
  }

  event(e: ProgressEvent): void {
    if (e.kind === 'debug') return;
    if (this.rowsOnStart && e.kind === 'state' && e.state === 'started' && e.machine !== undefined)
      this.rows.set(e.machine, { step: 'waiting', state: 'waiting' });
    const row = e.machine === undefined ? undefined : this.rows.get(e.machine);
    // A plan line, a warning, or a line of a machine without a row: a plain line above the block.
    if (!row || e.kind === 'warn' || e.operation === 'apply') {
      const prefix = e.machine === undefined ? '' : `${e.machine.padEnd(this.width)} | `;
      this.above(`${prefix}${e.message}`);
      return;
    }
    if (e.kind === 'state') {
      if (e.state === 'started') {
        row.state = 'running';
        row.started = this.now();
      } else {
        row.state = e.state;
        row.ended = this.now();
        row.step = e.state === 'failed' ? `failed: ${e.error ?? ''}` : 'done';
      }
    } else {
      const own = `(${e.machine}) `;
      row.step = e.message.startsWith(own) ? e.message.slice(own.length) : e.message;
      if (row.state === 'waiting') {
        row.state = 'running';
        row.started = this.now();
      }
    }
    this.redraw();
  }

  private above(text: string): void {
    this.clear();
    for (const l of text.split('\n')) this.opts.write(`${l}\n`);
    this.redraw();
  }

  private clear(): void {
    // Up to the block's first line, then erase to the end of the screen.
    if (this.drawn > 0) this.opts.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    // One column short: a line as wide as the terminal wraps on some, and the block then moves.
    const max = Math.max(20, this.opts.columns() - 1);
    for (const [name, row] of this.rows) {
      const line = `${name.padEnd(this.width)} | ${this.elapsed(row).padStart(6)}  ${row.step.split('\n')[0]}`;
      text += `\r\x1b[2K${[...line].slice(0, max).join('')}\n`;
    }
    this.opts.write(text);
    this.drawn = this.rows.size;
  }

  private elapsed(row: Row): string {
    if (row.started === undefined) return '';
    const s = Math.floor(((row.ended ?? this.now()) - row.started) / 1000);
    return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
}

/** The live view of these machines when stdout is a terminal (not with --json or --debug). */
export function liveViewFor(ctx: CommandContext, names: string[], rowsOnStart = false): LiveView | undefined {
  if (!ctx.out.isTerminal || ctx.out.debugEnabled || flagBool(ctx.flags, 'json')) return undefined;
  return new LiveView(
    names,
    { write: (s) => ctx.out.write(s), columns: () => ctx.out.columns() },
    rowsOnStart,
  );
}
