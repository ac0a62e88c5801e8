import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../store/atomic.js';
import type { SSHTarget } from './client.js';
import { configValue, sshPath } from './options.js';

/**
 * The docker CLI reaches an SSH-only engine by running the system `ssh` with only the user,
 * host and port of the URL: the machine's key and pinned host key must come from ssh's own
 * configuration. Each such machine gets an ssh_config file in its folder, and the user's
 * ~/.ssh/config gets one marked block per store, at its top, that includes them all:
 *
 *   # BEGIN docker-machine store /path/to/store
 *   Include "/path/to/store/machines/* /ssh_config"   (without the space)
 *   # END docker-machine store /path/to/store
 *
 * The block is added by the store's first SSH-only machine and removed with its last; nothing
 * else in the file is ever changed. docs/ssh-engines.md explains the choice.
 */

export const MACHINE_SSH_CONFIG = 'ssh_config';

/** The machine's entry, in its folder. */
export function machineSSHConfigPath(machineDir: string): string {
  return join(machineDir, MACHINE_SSH_CONFIG);
}

/**
 * The file ssh reads: ssh takes the home folder from the password database, not from $HOME,
 * so that is where the block must go. MACHINE_SSH_USER_CONFIG names another file, or with
 * "off" none (the user then includes the machines' files by hand).
 */
export function userSSHConfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.MACHINE_SSH_USER_CONFIG ?? '';
  if (/^(off|0|false|no)$/i.test(v)) return undefined;
  return v || join(userInfo().homedir, '.ssh', 'config');
}

/**
 * The machine's entry: it applies only to this user at this host and port (two machines behind
 * one address differ by port, which `Match` can only test with exec), with the machine's key,
 * and the host key pinned in the machine's known_hosts, strictly.
 */
export function machineSSHConfig(name: string, t: SSHTarget): string {
  const lines = [
    `# docker-machine: machine "${name}", whose engine is reached over SSH; removed with the machine.`,
    `Match originalhost ${configValue(t.host)} user ${configValue(t.user)} exec "test %p = ${t.port}"`,
    ...(t.keyPath ? [`  IdentityFile ${configValue(sshPath(t.keyPath))}`, '  IdentitiesOnly yes'] : []),
    `  UserKnownHostsFile ${configValue(sshPath(t.knownHostsPath))}`,
    '  StrictHostKeyChecking yes',
    '  PasswordAuthentication no',
  ];
  return `${lines.join('\n')}\n`;
}

export function storeBlock(storeRoot: string): { begin: string; end: string; text: string } {
  const begin = `# BEGIN docker-machine store ${storeRoot}`;
  const end = `# END docker-machine store ${storeRoot}`;
  const include = `Include ${configValue(sshPath(join(storeRoot, 'machines', '*', MACHINE_SSH_CONFIG)))}`;
  return {
    begin,
    end,
    text: `${begin}\n# Added for the store's machines whose engine is reached over SSH; removed with the last of them.\n${include}\n${end}\n`,
  };
}

/**
 * Put the store's block at the top of the user's file (an Include below a Host or Match line
 * would apply only inside that block). A symlinked file (dotfile managers) is written where
 * it points. Returns whether the file changed.
 */
export async function addStoreBlock(file: string, storeRoot: string): Promise<boolean> {
  const target = resolved(file);
  let text = '';
  let mode = 0o600;
  try {
    text = await readFile(target, 'utf8');
    mode = statSync(target).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  }
  const block = storeBlock(storeRoot);
  if (text.split('\n').includes(block.begin)) return false;
  await writeFileAtomic(target, block.text + text, mode);
  return true;
}

/**
 * Take the store's block out again, exactly its lines; a file that held nothing else (we made
 * it) is removed. Returns whether the file changed.
 */
export async function removeStoreBlock(file: string, storeRoot: string): Promise<boolean> {
  const target = resolved(file);
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch {
    return false;
  }
  const block = storeBlock(storeRoot);
  const lines = text.split('\n');
  const from = lines.indexOf(block.begin);
  if (from < 0) return false;
  const to = lines.indexOf(block.end, from);
  if (to < 0) return false;
  lines.splice(from, to - from + 1);
  const rest = lines.join('\n');
  if (rest.trim() === '') await rm(target, { force: true });
  else await writeFileAtomic(target, rest, statSync(target).mode & 0o777);
  return true;
}

/** Whether any machine of the store still has its ssh_config entry. */
export function storeHasSSHEngines(storeRoot: string): boolean {
  const dir = join(storeRoot, 'machines');
  try {
    return readdirSync(dir).some((n) => existsSync(join(dir, n, MACHINE_SSH_CONFIG)));
  } catch {
    return false;
  }
}

function resolved(file: string): string {
  try {
    if (lstatSync(file).isSymbolicLink()) return realpathSync(file);
  } catch {}
  return file;
}
