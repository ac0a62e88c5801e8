import { errorMessage } from '../errors.js';

/**
 * Progress of an operation, as typed events: the CLI prints them as the original's lines, and an
 * embedding program can show them its own way (or as JSON lines: toJsonEvent, docs/events.md).
 */
export type ProgressEvent =
  | { kind: 'info'; message: string; machine?: string; operation?: Operation }
  | { kind: 'warn'; message: string; machine?: string; operation?: Operation }
  /** A line from a driver, printed as `(NAME) message` like the original's plugin output. */
  | { kind: 'driver'; message: string; machine: string; operation?: Operation }
  | { kind: 'debug'; message: string; machine?: string; operation?: Operation }
  /**
   * An operation on one machine began, finished or failed. The CLI prints nothing for it (its
   * lines are the original's); the JSON stream and the live view are built on it.
   */
  | {
      kind: 'state';
      machine: string;
      operation: Operation;
      state: 'started' | 'done' | 'failed';
      message: string;
      /** With failed: the error's first line. */
      error?: string;
      /** With failed: the last step reached. */
      step?: string;
    };

/** The operations whose machines report started/done/failed. */
export type Operation = 'create' | 'rm' | 'start' | 'stop' | 'restart' | 'kill' | 'apply';

export type ProgressListener = (e: ProgressEvent) => void;

export const silent: ProgressListener = () => {};

/** One line of the `--json` stream (docs/events.md): the same fields on every line. */
export interface JsonEvent {
  /** RFC 3339, UTC, milliseconds. */
  time: string;
  /** null for lines about the whole command (a fleet's CA, its plan). */
  machine: string | null;
  operation: Operation | null;
  state: 'started' | 'step' | 'warning' | 'done' | 'failed';
  /** What the machine is doing: the progress line, or the operation's name for started/done. */
  step: string;
  /** With failed: the one-line error; otherwise null. */
  error: string | null;
}

/** The JSON line of an event; undefined for debug lines, which stay on stderr with --debug. */
export function toJsonEvent(e: ProgressEvent, now: Date = new Date()): JsonEvent | undefined {
  const time = now.toISOString();
  const machine = e.machine ?? null;
  const operation = e.operation ?? null;
  switch (e.kind) {
    case 'debug':
      return undefined;
    case 'state':
      return {
        time,
        machine,
        operation,
        state: e.state,
        step: e.state === 'failed' ? (e.step ?? e.operation) : e.operation,
        error: e.state === 'failed' ? (e.error ?? 'failed') : null,
      };
    case 'warn':
      return { time, machine, operation, state: 'warning', step: oneLine(e.message), error: null };
    default: {
      // A driver's own `(NAME) ` marker repeats the machine field.
      const own = `(${e.machine}) `;
      const step = e.message.startsWith(own) ? e.message.slice(own.length) : e.message;
      return { time, machine, operation, state: 'step', step: oneLine(step), error: null };
    }
  }
}

function oneLine(s: string): string {
  return s.split('\n')[0].trimEnd();
}

/**
 * fn on one machine, reported as started, then done or failed; every event fn emits carries the
 * machine's name and the operation (so that a program can follow several at once).
 */
export async function tracked<C extends { events: ProgressListener }, T>(
  ctx: C,
  machine: string,
  operation: Operation,
  fn: (ctx: C) => Promise<T>,
): Promise<T> {
  let last: string = operation;
  const events: ProgressListener = (e) => {
    if (e.kind === 'info' || e.kind === 'driver') last = oneLine(e.message);
    ctx.events(
      e.kind === 'state'
        ? e
        : ({ ...e, machine: e.machine ?? machine, operation: e.operation ?? operation } as ProgressEvent),
    );
  };
  ctx.events({
    kind: 'state',
    machine,
    operation,
    state: 'started',
    message: `${operation} ${machine}: started`,
  });
  try {
    const r = await fn({ ...ctx, events });
    ctx.events({
      kind: 'state',
      machine,
      operation,
      state: 'done',
      message: `${operation} ${machine}: done`,
    });
    return r;
  } catch (err) {
    const error = oneLine(errorMessage(err));
    ctx.events({
      kind: 'state',
      machine,
      operation,
      state: 'failed',
      message: `${operation} ${machine}: ${error}`,
      error,
      step: last,
    });
    throw err;
  }
}
