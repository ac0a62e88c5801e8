import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Sshd, sshdAvailable, startSshd } from '../../test/helpers/sshd.js';
import type { SSHClient, SSHTarget } from './client.js';
import { externalClient } from './external.js';
import { fingerprint, generateSSHKeyPair, sshRsaPublicKey } from './keys.js';
import { nativeClient } from './native.js';

test('key pair: PKCS#1 private key, ssh-rsa public line, both 0600, read by ssh-keygen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-key-'));
  try {
    const key = join(dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(key);
    assert.match(await readFile(key, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(publicLine, /^ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/=]+\n$/);
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    assert.equal((await stat(`${key}.pub`)).mode & 0o777, 0o600);
    // OpenSSH derives the same public key and fingerprint from the private key.
    const derived = execFileSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' }).trim();
    assert.equal(derived, publicLine.trim());
    const fp = execFileSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
    assert.equal(fingerprint(publicLine), fp);
    assert.equal(sshRsaPublicKey(await readFile(key, 'utf8')), publicLine.trim());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const clients: [string, (t: SSHTarget) => Promise<SSHClient>][] = [
  ['external ssh', async (t) => externalClient(t)],
  ['native ssh (ssh2)', (t) => nativeClient(t)],
];

for (const [kind, open] of clients) {
  describe(`${kind} against a real sshd`, {
    skip: sshdAvailable() ? false : 'needs /usr/sbin/sshd and root',
  }, () => {
    let sshd: Sshd;
    let work: string;
    let target: SSHTarget;
    before(async () => {
      sshd = await startSshd();
      work = await mkdtemp(join(tmpdir(), 'dm-ssh-work-'));
      target = {
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        keyPath: sshd.keyPath,
        knownHostsPath: join(work, 'known_hosts'),
      };
    });
    after(async () => {
      await sshd?.stop();
      await rm(work, { recursive: true, force: true });
      if (sshd) await rm(sshd.dir, { recursive: true, force: true });
    });

    test('commands: stdout, stderr, exit codes and stdin, over one connection', async () => {
      const c = await open(target);
      try {
        assert.deepEqual(await c.run('echo out; echo err >&2; exit 3'), {
          code: 3,
          stdout: 'out\n',
          stderr: 'err\n',
        });
        assert.deepEqual(await c.run('cat', { input: 'from stdin' }), {
          code: 0,
          stdout: 'from stdin',
          stderr: '',
        });
        for (let i = 0; i < 5; i++) assert.equal((await c.run(`echo ${i}`)).stdout, `${i}\n`);
        // A remote exit of 255 is the command's, not a connection failure.
        assert.equal((await c.run('exit 255')).code, 255);
      } finally {
        await c.close();
      }
      const accepted = (await sshd.log()).match(/Accepted publickey/g) ?? [];
      assert.equal(accepted.length, 1, 'eight commands, one SSH connection');
    });

    test('the host key is pinned on first contact; a changed key is refused with a clear error', async () => {
      const pinned = await readFile(target.knownHostsPath, 'utf8');
      assert.match(pinned, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
      await sshd.stop();
      sshd = await startSshd({ dir: sshd.dir, port: sshd.port, newHostKey: true });
      const c = await open(target);
      try {
        await assert.rejects(c.run('true'), (e: Error) => {
          assert.match(
            e.message,
            new RegExp(
              `^SSH host key for \\[127\\.0\\.0\\.1\\]:${sshd.port} changed: expected SHA256:\\S+, got SHA256:\\S+; if the machine was re-created on purpose, remove .*known_hosts and retry$`,
            ),
          );
          return true;
        });
      } finally {
        await c.close();
      }
      assert.equal(await readFile(target.knownHostsPath, 'utf8'), pinned, 'the pinned key is kept');
    });

    test('wrong key and closed port: one line naming what failed', async () => {
      const other = join(work, 'other_rsa');
      await generateSSHKeyPair(other);
      const c = await open({ ...target, keyPath: other, knownHostsPath: join(work, 'kh2') });
      try {
        await assert.rejects(c.run('true'), (e: Error) => {
          assert.equal(
            e.message,
            `SSH authentication failed for root@127.0.0.1:${sshd.port} with key ${other}`,
          );
          return true;
        });
      } finally {
        await c.close();
      }
      const closed = await open({ ...target, port: 1, knownHostsPath: join(work, 'kh3') });
      try {
        await assert.rejects(closed.run('true'), (e: Error) => {
          assert.equal(e.message, 'ssh: connect to 127.0.0.1 port 1: connection refused');
          return true;
        });
      } finally {
        await closed.close();
      }
    });
  });
}
