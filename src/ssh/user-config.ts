import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { quoteFor } from '../shell/quote.js';
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
 *   Include /path/to/store/machines/* /ssh_config   (without the space)
 *   # END docker-machine store /path/to/store
 *
 * The block is added by the store's first SSH-only machine and removed with its last; nothing
 * else in the file is ever changed. docs/ssh-engines.md explains the choice.
 */

export const MACHINE_SSH_CONFIG = 'ssh_config';

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
  return {
    begin,
    end,
    text: `${begin}\n# Added for the store's machines whose engine is reached over SSH; removed with the last of them.\n${storeIncludeLine(storeRoot)}\n${end}\n`,
  };
}

/**
 * The store's Include line: the one its block holds, and the one `env` tells a user who keeps
 * the file to themselves to add. Include takes a glob, and what ssh does to it first depends on
 * its version: OpenSSH 9.2 globs the path as written, later releases expand %-tokens (and
 * ${VAR}) in it first, so no escape of a % in the store's path works for both. Each character
 * of the path that either step would read as special stands as the glob's ? instead, which
 * matches it under both. It may also match a sibling folder that differs only there; that is
 * another store's entries, each limited to its own machine by its Match line.
 */
export function storeIncludeLine(storeRoot: string): string {
  // On Windows \ is the separator, not a character of a name.
  const special = sep === '\\' ? /[%$*?[\]]/g : /[%$*?[\]\\]/g;
  const machines = join(storeRoot, 'machines').replace(special, '?');
  return `Include ${configValue(`${machines}/*/${MACHINE_SSH_CONFIG}`)}`;
}

/**
 * With MACHINE_SSH_USER_CONFIG=off nothing tells the docker CLI's ssh about the machine: said
 * once, on stderr (away from the lines being evaluated), as text to paste. The Include line is
 * the store's own (storeIncludeLine), written last so that it ends where the output does; the
 * ssh-add command and the known_hosts path are quoted for the shell `env` prints for, the one
 * they are pasted into, so a path with a space stays one argument.
 */
export function noUserSSHConfigWarning(
  name: string,
  storeRoot: string,
  t: Pick<SSHTarget, 'keyPath' | 'knownHostsPath'>,
  shell: string,
): string {
  const q = (path: string) => shellPath(shell, path);
  const agent = t.keyPath ? `run ssh-add ${q(t.keyPath)} and ` : '';
  let include = '';
  try {
    include = `, or put this line at the top of ~/.ssh/config: ${storeIncludeLine(storeRoot)}`;
  } catch {
    // A store path with a double quote or a line break cannot be written in ssh's config at all.
  }
  return `Warning: MACHINE_SSH_USER_CONFIG is off, so docker's ssh will not find the key and host key of "${name}": ${agent}add the lines of ${q(t.knownHostsPath)} to ~/.ssh/known_hosts${include}`;
}

/**
 * A path as one argument of the user's shell. cmd has no quoting that keeps every character
 * literal (quoteFor refuses some): its double quotes keep spaces, which is what paths need.
 * An emacs user pastes commands into a terminal's shell, taken as sh.
 */
function shellPath(shell: string, path: string): string {
  if (shell === 'cmd') return `"${path}"`;
  return quoteFor(shell === 'emacs' ? 'sh' : shell, 'path', path);
}

/**
 * Put the store's block at the top of the user's file (an Include below a Host or Match line
 * would apply only inside that block). A symlinked file (dotfile managers) is written where
 * it points. A block of the store that an earlier version wrote differently (its Include line
 * once wrote a % of the store's path as %%, which OpenSSH 9.2 reads as two characters) is
 * rewritten in place. Returns what changed in the file, if anything.
 */
export async function addStoreBlock(
  file: string,
  storeRoot: string,
): Promise<'added' | 'rewritten' | undefined> {
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
  const lines = text.split('\n');
  const from = lines.indexOf(block.begin);
  if (from < 0) {
    await writeFileAtomic(target, block.text + text, mode);
    return 'added';
  }
  const to = lines.indexOf(block.end, from);
  // A begin marker without its end is someone's edit: left as it is.
  if (to < 0) return undefined;
  const current = block.text.replace(/\n$/, '').split('\n');
  const kept = lines.slice(from, to + 1);
  if (kept.length === current.length && kept.every((l, i) => l === current[i])) return undefined;
  lines.splice(from, to - from + 1, ...current);
  await writeFileAtomic(target, lines.join('\n'), mode);
  return 'rewritten';
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
