import { debug, debugEnabled, since } from '../debug.js';
import { describeTarget, type SSHClient, type SSHTarget } from './client.js';
import { externalClient } from './external.js';

/**
 * The client the original would pick: the system ssh when it is on PATH, the built-in one with
 * --native-ssh or when there is no ssh binary.
 */
export async function connectSSH(
  target: SSHTarget,
  opts: { native: boolean; connectTimeoutMs?: number },
): Promise<SSHClient> {
  if (opts.native || !(await hasSSHBinary())) {
    debug(
      opts.native ? 'Using SSH client type: native' : 'SSH binary not found, using native implementation',
    );
    const { nativeClient } = await import('./native.js');
    return traced(await nativeClient(target, opts), target);
  }
  debug('Using SSH client type: external');
  return traced(externalClient(target, opts), target);
}

/** With debug on, each command run over SSH is logged with its exit code, output and time. */
function traced(client: SSHClient, target: SSHTarget): SSHClient {
  if (!debugEnabled()) return client;
  const where = describeTarget(target);
  return {
    ...client,
    run: async (command, ro) => {
      debug(`About to run SSH command on ${where}:\n${command}`);
      const started = Date.now();
      try {
        const r = await client.run(command, ro);
        debug(
          () =>
            `SSH cmd exit ${r.code} in ${since(started)}, output: ${clip(r.stdout)}${r.stderr ? `, stderr: ${clip(r.stderr)}` : ''}`,
        );
        return r;
      } catch (err) {
        debug(`SSH cmd failed in ${since(started)}: ${err instanceof Error ? err.message : err}`);
        throw err;
      }
    },
    attach: (command, tty) => {
      debug(`About to run SSH ${command === null ? 'login shell' : `command:\n${command}`} on ${where}`);
      return client.attach(command, tty);
    },
    close: () => client.close(),
  };
}

/** Long outputs (a whole log, a listing) are cut: the debug log is read by people. */
function clip(s: string): string {
  const t = s.trimEnd();
  return t.length > 2000 ? `${t.slice(0, 2000)}... (${t.length} bytes)` : t;
}

async function hasSSHBinary(): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  const { delimiter, join } = await import('node:path');
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, 'ssh')));
}
