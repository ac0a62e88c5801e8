import { open, stat } from 'node:fs/promises';
import { errorMessage, goQuote } from '../errors.js';

/** Enough of a file to find a key's armour line; private keys are a few KB. */
const HEAD_BYTES = 64 * 1024;

/**
 * Why the file at `path` cannot serve as an SSH private key, or undefined when it can: checked
 * before a machine is made, so that a directory, a public key or an unreadable file fails in one
 * line instead of half-way through create. A passphrase-protected key passes (an agent may hold it).
 */
export async function privateKeyProblem(path: string): Promise<string | undefined> {
  const q = goQuote(path);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The original's words for a missing key.
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // `--generic-ssh-key=~/...` reaches us with its tilde: the shell expands it only after a space.
      const tilde = path.startsWith('~') ? ' (a ~ is not expanded after "=": write $HOME instead)' : '';
      return `SSH key does not exist: ${q}${tilde}`;
    }
    if (code === 'ELOOP') return `SSH key ${q} is a loop of symbolic links`;
    if (code === 'EACCES') return `SSH key ${q} cannot be reached: permission denied on a folder of its path`;
    return `SSH key ${q} cannot be read: ${errorMessage(err)}`;
  }
  if (st.isDirectory()) {
    return `SSH key ${q} is a directory: give the private key file (e.g. ${path.replace(/\/+$/, '')}/id_rsa)`;
  }
  if (!st.isFile()) return `SSH key ${q} is not a regular file`;
  if (st.size === 0) return `SSH key ${q} is empty`;
  let head: string;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return `SSH key ${q} cannot be read: permission denied`;
    return `SSH key ${q} cannot be read: ${errorMessage(err)}`;
  }
  const text = head.trimStart();
  if (
    /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-|sk-(ssh|ecdsa)-)\S* /.test(text) ||
    /^---- BEGIN SSH2 PUBLIC KEY/.test(text)
  ) {
    return `SSH key ${q} is a public key: give the private key (the file without .pub)`;
  }
  if (text.startsWith('PuTTY-User-Key-File-')) {
    return `SSH key ${q} is a PuTTY key: convert it for OpenSSH (puttygen KEY -O private-openssh -o KEY.openssh)`;
  }
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/m.test(head)) {
    return `SSH key ${q} is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line)`;
  }
  return undefined;
}
