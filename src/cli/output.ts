import { redact } from '../debug.js';

/**
 * Two channels, as in the original: results and progress (Info) on stdout, errors on stderr.
 * `env` and `config` move progress to stderr so that stdout holds only what a shell evaluates.
 */
export interface Output {
  /** Raw result text (or bytes: `export -o -`) on stdout. */
  write(text: string | Uint8Array): void;
  /** A progress or info line: stdout, or stderr when the command keeps stdout for its result. */
  info(line: string): void;
  warn(line: string): void;
  /** An error line on stderr. */
  error(line: string): void;
  /** Only with --debug / MACHINE_DEBUG, on stderr. */
  debug(line: string): void;
  /** A question without a newline, where info lines go (stdout, or stderr once they moved). */
  prompt(text: string): void;
  /** Route info/warn to stderr from now on. */
  infoToStderr(): void;
  readonly debugEnabled: boolean;
  /** stdout is a terminal: a fleet then shows a live line per machine. */
  readonly isTerminal: boolean;
  /** The terminal's width (80 when unknown). */
  columns(): number;
}

export interface Streams {
  stdout: { write(s: string | Uint8Array): unknown };
  stderr: { write(s: string): unknown };
  /** stdout is a terminal (unset: it is not). */
  isTTY?: boolean;
  columns?: () => number;
}

export function createOutput(streams: Streams, debugEnabled: boolean): Output {
  let infoStream = streams.stdout;
  return {
    write: (text) => void streams.stdout.write(text),
    info: (line) => void infoStream.write(`${line}\n`),
    warn: (line) => void infoStream.write(`${line}\n`),
    error: (line) => void streams.stderr.write(`${line}\n`),
    debug: (line) => {
      if (debugEnabled) streams.stderr.write(`${redact(line)}\n`);
    },
    prompt: (text) => void infoStream.write(text),
    infoToStderr: () => {
      infoStream = streams.stderr;
    },
    debugEnabled,
    get isTerminal() {
      return streams.isTTY === true;
    },
    columns: () => streams.columns?.() || 80,
  };
}
