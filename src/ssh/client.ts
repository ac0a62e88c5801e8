/**
 * What every SSH user of the code (drivers, provisioners, the ssh/scp commands) sees: a target, and
 * a client that runs commands over one connection. Exit codes of remote commands are results,
 * never errors; connection, authentication and host-key problems are MachineErrors.
 */
export interface SSHTarget {
  host: string;
  port: number;
  user: string;
  /** '' for the user's own keys and agent. */
  keyPath: string;
  /** The machine's pinned host keys (trust on first use). */
  knownHostsPath: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface SSHClient {
  run(command: string, opts?: RunOptions): Promise<ExecResult>;
  /**
   * A command (or, with null, a login shell) wired to this process's terminal; resolves to the
   * remote exit code.
   */
  attach(command: string | null, tty: boolean): Promise<number>;
  close(): Promise<void>;
}

export function describeTarget(t: SSHTarget): string {
  return `${t.user}@${t.host}:${t.port}`;
}
