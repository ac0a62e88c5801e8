/**
 * Progress of an operation, as typed events: the CLI prints them as the original's lines, and an
 * embedding program can show them its own way (or as JSON).
 */
export type ProgressEvent =
  | { kind: 'info'; message: string; machine?: string }
  | { kind: 'warn'; message: string; machine?: string }
  /** A line from a driver, printed as `(NAME) message` like the original's plugin output. */
  | { kind: 'driver'; message: string; machine: string }
  | { kind: 'debug'; message: string; machine?: string };

export type ProgressListener = (e: ProgressEvent) => void;

export const silent: ProgressListener = () => {};
