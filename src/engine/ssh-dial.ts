import type { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import { MachineError } from '../errors.js';
import type { SSHTarget } from '../ssh/client.js';

/**
 * The engine of an SSH-only machine, reached as the docker CLI reaches it: a login over the
 * machine's SSH with its key and pinned host key, and `docker system dial-stdio` there, which
 * joins the channel to the engine's unix socket. Each HTTP connection is one SSH connection,
 * ended with it: nothing stays open to keep a command from exiting.
 */
export async function sshEngineAgent(
  target: SSHTarget,
  connectTimeoutMs: number,
): Promise<Agent & { failure?: string }> {
  const http = await import('node:http');
  const agent: Agent & { failure?: string } = new http.Agent({ keepAlive: false });
  Object.assign(agent, {
    createConnection(_o: unknown, done: (err: Error | null, s?: Duplex) => void) {
      dialStdio(target, connectTimeoutMs, (why) => (agent.failure = why)).then(
        (s) => done(null, s),
        (err) => done(err as Error),
      );
      return undefined;
    },
  });
  return agent;
}

export const DIAL_STDIO = 'docker system dial-stdio';

async function dialStdio(
  target: SSHTarget,
  connectTimeoutMs: number,
  failed: (why: string) => void,
): Promise<Duplex> {
  const { openNative } = await import('../ssh/native.js');
  const conn = await openNative(target, { connectTimeoutMs, strict: true });
  return new Promise<Duplex>((resolve, reject) => {
    conn.exec(DIAL_STDIO, (err, ch) => {
      if (err) {
        conn.end();
        return reject(new MachineError(`ssh to ${target.host}: ${err.message}`));
      }
      let stderr = '';
      ch.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d;
      });
      // A machine without the docker CLI, an engine that is not running, or a user without
      // access to the socket ends the command at once: that is the error to report, not the
      // HTTP client's "socket hang up", which may come first.
      ch.on('exit', (code: number | null) => {
        if (code !== 0 && code !== null)
          failed(
            `"${DIAL_STDIO}" on the machine exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
          );
      });
      ch.on('close', () => conn.end());
      // Node's HTTP client calls these on its sockets; a channel has no TCP options to set.
      Object.assign(ch, { setNoDelay() {}, setKeepAlive() {}, setTimeout() {}, ref() {}, unref() {} });
      resolve(ch as unknown as Duplex);
    });
  });
}
