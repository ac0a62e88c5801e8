import type { SSHClient } from '../ssh/client.js';
import type { HostConfig } from '../store/host.js';

/** What a provisioner works with: the machine, one SSH connection, and a progress sink. */
export interface ProvisionContext {
  name: string;
  config: HostConfig;
  driverName: string;
  /** The machine's address as the driver reports it (the server certificate names it). */
  ip: string;
  /** The engine port: the port of the machine's URL. */
  enginePort: number;
  ssh: SSHClient;
  info(line: string): void;
  debug(line: string): void;
  /** Wait until the engine answers over TLS; throws with what it saw last. */
  waitForEngine(): Promise<void>;
}

/** A remote command that must succeed; its failure names the command and its output. */
export async function mustRun(ctx: ProvisionContext, cmd: string, input?: string): Promise<string> {
  ctx.debug(`ssh: ${cmd}`);
  const r = await ctx.ssh.run(cmd, { input });
  if (r.code !== 0) {
    const { MachineError } = await import('../errors.js');
    throw new MachineError(
      `ssh command error:\ncommand : ${cmd}\nerr     : exit status ${r.code}\noutput  : ${(r.stdout + r.stderr).trim()}`,
    );
  }
  return r.stdout;
}
