import { MachineError } from '../errors.js';
import type { CommandContext } from './command.js';

/**
 * How env and config have a machine's server certificate reissued. Reissuing needs SSH and
 * provisioning, which the light bundle (dist/cli-light.cjs) leaves out to start fast: the full
 * bundle's entry (main.ts) sets the healer, and in the light bundle, where none is set, the
 * command line is handed to the full bundle, which runs it again from the start and heals there.
 * Nothing has been written to stdout by then, so the shell lines are printed once.
 */
export type CertHealer = (ctx: CommandContext, name: string, swarm: boolean) => Promise<void>;

let healer: CertHealer | undefined;

export function setCertHealer(h: CertHealer): void {
  healer = h;
}

export async function healCerts(ctx: CommandContext, name: string, swarm: boolean): Promise<void> {
  if (healer) return healer(ctx, name, swarm);
  const runFull = (globalThis as Record<symbol, unknown>)[Symbol.for('docker-machine.run-full-cli')];
  if (typeof runFull !== 'function') {
    throw new MachineError(
      `The certificate of "${name}" needs reissuing, which needs dist/cli.cjs: run dist/docker-machine.cjs, or 'docker-machine regenerate-certs ${name}'`,
    );
  }
  runFull();
  // The full bundle finishes the command and ends the process.
  return new Promise<never>(() => {});
}
