import type { SeededEngine } from '../drivers/engine-seed.js';
import { MachineError } from '../errors.js';
import type { ExecResult, SSHClient } from '../ssh/client.js';
import type { HostConfig } from '../store/host.js';

/** What a provisioner works with: the machine, one SSH connection, and a progress sink. */
export interface ProvisionContext {
  name: string;
  config: HostConfig;
  driverName: string;
  /** The machine's address as the driver reports it (the server certificate names it). */
  ip: string;
  /** The port the engine listens on in the machine: the URL's, unless the driver says otherwise. */
  enginePort: number;
  /** Names the server certificate carries besides ip (a container's address on its network). */
  certSANs: string[];
  ssh: SSHClient;
  /** The engine files the machine was seeded with before its first boot (create only). */
  seededEngine?: SeededEngine;
  info(line: string): void;
  debug(line: string): void;
  /** Wait until the engine answers over TLS; throws with what it saw last. */
  waitForEngine(): Promise<void>;
}

/** A remote command that must succeed; its failure names the command and its output. */
export async function mustRun(ctx: ProvisionContext, cmd: string, input?: string): Promise<string> {
  const r = await ctx.ssh.run(cmd, { input });
  if (r.code !== 0) throw commandError(cmd, r);
  return r.stdout;
}

/** The original's error for a remote command that failed: the command, its status, its output. */
export function commandError(cmd: string, r: ExecResult): MachineError {
  return new MachineError(
    `ssh command error:\ncommand : ${cmd}\nerr     : exit status ${r.code}\noutput  : ${(r.stdout + r.stderr).trim()}`,
  );
}

/** Root needs no sudo; any other SSH user runs the provisioning commands through it. */
export function sudoPrefix(ctx: ProvisionContext): string {
  const user = ctx.config.Driver.SSHUser;
  return user === 'root' || user === '' ? '' : 'sudo ';
}

/** The last lines of a failed command's output, on one line, for an error message. */
export function tail(r: { stdout: string; stderr: string; code: number }, n = 3): string {
  const text = (r.stderr || r.stdout).trim();
  return text ? text.split('\n').slice(-n).join(' / ') : `exit status ${r.code}`;
}
