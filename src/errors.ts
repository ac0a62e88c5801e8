/**
 * Every error a user can see is a MachineError: its message is the user-facing text and its
 * exitCode is what the process exits with. Anything else reaching the top is a bug and is reported
 * as one, never as a stack trace.
 */
export class MachineError extends Error {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** A command line the parser cannot accept (unknown flag, bad value, wrong argument count). */
export class UsageError extends MachineError {
  /** The command whose help explains the right usage ('' for the app itself). */
  readonly command: string;
  constructor(message: string, command = '') {
    super(message, { exitCode: 1 });
    this.command = command;
  }
}

/** The driver's pre-create check failed: the original exits 3 for this one case. */
export class PreCreateError extends MachineError {
  constructor(cause: string) {
    super(`Error with pre-create check: ${goQuote(cause)}`, { exitCode: 3 });
  }
}

/** Go's %q for a string: double quotes with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * An error's text for a user. A Node file system error is said as what was done to which file
 * ("reading PATH: not a directory"), not as Node's "ENOTDIR: not a directory, stat 'PATH'".
 */
export function errorMessage(err: unknown): string {
  if (err instanceof MachineError) return err.message;
  const system = systemErrorLine(err);
  if (system) return system;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A file system failure as one line naming what was being done and to which file, as Go prints
 * them ("open PATH: permission denied"): `fsError('writing', path, err)` gives
 * "writing PATH: permission denied". Node's own text ("EACCES: permission denied, open 'PATH'")
 * names neither the action nor, for a rename or a copy, the file the user knows.
 */
export function fsError(action: string, path: string, err: unknown): MachineError {
  if (err instanceof MachineError) return err;
  return new MachineError(`${action} ${path}: ${errnoText(err)}`, { cause: err });
}

/** The system's words for an errno error, without Node's code prefix and syscall suffix. */
export function errnoText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const m = /^[A-Z][A-Z0-9_]*: ([^,]*)/.exec(msg);
  if (m && code && msg.startsWith(`${code}:`)) return m[1];
  return msg;
}

/** Whether an error is a Node system error (it carries an errno code such as EACCES). */
export function isErrnoError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

/** What a system call was doing, in the words of an error line. */
const ACTIONS: Record<string, string> = {
  open: 'opening',
  read: 'reading',
  write: 'writing',
  close: 'writing',
  fsync: 'writing',
  scandir: 'listing',
  opendir: 'listing',
  stat: 'reading',
  lstat: 'reading',
  fstat: 'reading',
  access: 'checking',
  mkdir: 'creating the folder',
  mkdtemp: 'creating a folder at',
  rmdir: 'removing the folder',
  rm: 'removing',
  unlink: 'removing',
  rename: 'renaming',
  copyfile: 'copying',
  cp: 'copying',
  symlink: 'linking',
  link: 'linking',
  readlink: 'reading the link',
  realpath: 'resolving',
  chmod: 'changing the mode of',
  chown: 'changing the owner of',
  utime: 'setting the time of',
};

/**
 * A Node system error that reached the top without a word of what was being done, as one line:
 * "listing /store/machines: not a directory". Undefined for any other error.
 */
export function systemErrorLine(err: unknown): string | undefined {
  if (!isErrnoError(err) || !err.path) return undefined;
  const action = ACTIONS[err.syscall ?? ''] ?? err.syscall ?? 'using';
  const dest = (err as NodeJS.ErrnoException & { dest?: string }).dest;
  return `${action} ${err.path}${dest ? ` to ${dest}` : ''}: ${errnoText(err)}`;
}
