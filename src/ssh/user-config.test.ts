import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sshPath } from './options.js';
import {
  addStoreBlock,
  machineSSHConfig,
  noUserSSHConfigWarning,
  storeBlock,
  storeIncludeLine,
} from './user-config.js';

const work = mkdtempSync(join(tmpdir(), 'dm-user-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

const noSSH = spawnSync('ssh', ['-V']).error ? 'needs the OpenSSH client (ssh)' : false;
const noBash = spawnSync('bash', ['-c', 'true']).error ? 'needs bash' : false;

/** The part of env's advice between two fixed phrases. */
function between(text: string, from: string, to: string): string {
  const start = text.indexOf(from);
  assert.ok(start >= 0, `no "${from}" in: ${text}`);
  const end = text.indexOf(to, start + from.length);
  assert.ok(end >= 0, `no "${to}" after "${from}" in: ${text}`);
  return text.slice(start + from.length, end);
}

/** The Include line env prints: the text after the last "~/.ssh/config: ". */
function printedInclude(warning: string): string {
  const marker = 'at the top of ~/.ssh/config: ';
  return warning.slice(warning.lastIndexOf(marker) + marker.length);
}

/** ssh -G prints the options it would use for a destination, without connecting. */
function sshG(configFile: string, dest: string, port: number): Map<string, string> {
  const r = spawnSync('ssh', ['-G', '-F', configFile, '-p', String(port), dest], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const options = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const at = line.indexOf(' ');
    if (at > 0 && !options.has(line.slice(0, at))) options.set(line.slice(0, at), line.slice(at + 1));
  }
  return options;
}

describe("the store's Include line, in the block and in env's advice", () => {
  test('a space is quoted; a % and every glob character stand as ?; a plain path is as before', () => {
    assert.equal(
      storeIncludeLine('/home/me/.docker/machine'),
      'Include /home/me/.docker/machine/machines/*/ssh_config',
    );
    assert.equal(
      storeIncludeLine('/home/me/My Docs/100% dm'),
      'Include "/home/me/My Docs/100? dm/machines/*/ssh_config"',
    );
    assert.equal(storeIncludeLine('/s/a[1]*?$HOME\\x'), 'Include /s/a?1????HOME?x/machines/*/ssh_config');
  });

  test('env prints the very line that the block holds, last on its line', () => {
    const store = '/home/me/My Docs/100% dm';
    const line = storeIncludeLine(store);
    assert.ok(storeBlock(store).text.split('\n').includes(line));
    const dir = `${store}/machines/m`;
    const warning = noUserSSHConfigWarning(
      'm',
      store,
      { keyPath: `${dir}/id_rsa`, knownHostsPath: `${dir}/known_hosts` },
      'bash',
    );
    assert.equal(
      warning,
      `Warning: MACHINE_SSH_USER_CONFIG is off, so docker's ssh will not find the key and host key of "m": run ssh-add "${dir}/id_rsa" and add the lines of "${dir}/known_hosts" to ~/.ssh/known_hosts, or put this line at the top of ~/.ssh/config: ${line}`,
    );
    assert.equal(printedInclude(warning), line);
  });

  test("the paths of the ssh-add advice are quoted for env's shell; a path ssh cannot take drops the Include", () => {
    const t = { keyPath: "/it's $x/id_rsa", knownHostsPath: '/a b/known_hosts' };
    const advice = (shell: string) =>
      between(noUserSSHConfigWarning('m', '/s', t, shell), ': run ', ' and add');
    assert.equal(advice('bash'), `ssh-add '/it'\\''s $x/id_rsa'`);
    assert.equal(advice('fish'), `ssh-add '/it\\'s $x/id_rsa'`);
    assert.equal(advice('powershell'), 'ssh-add "/it\'s `$x/id_rsa"');
    assert.equal(advice('cmd'), `ssh-add "/it's $x/id_rsa"`);
    assert.match(
      noUserSSHConfigWarning('m', '/s', t, 'bash'),
      / and add the lines of "\/a b\/known_hosts" to /,
    );
    const noKey = noUserSSHConfigWarning(
      'm',
      '/s',
      { keyPath: '', knownHostsPath: '/s/machines/m/known_hosts' },
      'bash',
    );
    assert.match(
      noKey,
      /: add the lines of "\/s\/machines\/m\/known_hosts" to ~\/\.ssh\/known_hosts, or put /,
    );
    const unusable = noUserSSHConfigWarning('m', '/s"q', t, 'bash');
    assert.ok(unusable.endsWith('to ~/.ssh/known_hosts'), unusable);
  });

  test('bash reads the printed ssh-add command and known_hosts path as one argument each', {
    skip: noBash,
  }, () => {
    const dir = "/tmp/dm 100%d it's $HOME/machines/m";
    const warning = noUserSSHConfigWarning(
      'm',
      '/s',
      { keyPath: `${dir}/id_rsa`, knownHostsPath: `${dir}/known_hosts` },
      'bash',
    );
    const command = between(warning, ': run ', ' and add the lines of ');
    const known = between(warning, ' and add the lines of ', ' to ~/.ssh/known_hosts');
    const r = spawnSync(
      'bash',
      ['-c', `ssh-add() { printf '%s\\n' "$#" "$1"; }; ${command}; printf '%s\\n' ${known}`],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `1\n${dir}/id_rsa\n${dir}/known_hosts\n`);
  });

  test('ssh -G with only the printed line applies the machine entry under a store path with a space and a %', {
    skip: noSSH,
  }, () => {
    // %d is a token (the home folder) for an ssh that expands them in Include; 9.2 does not.
    const store = join(work, "dm 100%d it's");
    const entry = (name: string, port: number) => {
      const dir = join(store, 'machines', name);
      mkdirSync(dir, { recursive: true });
      const t = {
        host: '127.0.0.1',
        port,
        user: 'docker',
        keyPath: join(dir, 'id_rsa'),
        knownHostsPath: join(dir, 'known_hosts'),
      };
      writeFileSync(join(dir, 'ssh_config'), machineSSHConfig(name, t), { mode: 0o600 });
      return t;
    };
    const m1 = entry('m1', 2299);
    const m2 = entry('m2', 2300);

    const warning = noUserSSHConfigWarning('m1', store, m1, 'bash');
    const printed = join(work, 'printed-config');
    writeFileSync(printed, `${printedInclude(warning)}\n`);
    const written = join(work, 'block-config');
    writeFileSync(written, storeBlock(store).text);

    for (const file of [printed, written]) {
      for (const m of [m1, m2]) {
        const o = sshG(file, `docker@127.0.0.1`, m.port);
        // ssh -G shows IdentityFile as configured (it expands %% when it reads the key) and
        // UserKnownHostsFile expanded.
        assert.equal(o.get('identityfile'), sshPath(m.keyPath), file);
        assert.equal(o.get('userknownhostsfile'), m.knownHostsPath, file);
        assert.equal(o.get('identitiesonly'), 'yes');
        assert.equal(o.get('stricthostkeychecking'), 'true');
        assert.equal(o.get('passwordauthentication'), 'no');
      }
      // Another port or user at that address is not one of the machines.
      for (const [dest, port] of [
        ['docker@127.0.0.1', 2301],
        ['root@127.0.0.1', 2299],
      ] as const) {
        const o = sshG(file, dest, port);
        assert.notEqual(o.get('stricthostkeychecking'), 'true', `${dest}:${port}`);
        assert.ok(!o.get('identityfile')?.startsWith(store), `${dest}:${port}`);
      }
    }
  });
});

describe("the store's block in the user's ssh config", () => {
  test('a block an earlier version wrote with %% is rewritten in place; every other byte stays', async () => {
    const store = join(work, 'store 100%');
    const file = join(work, 'old-block-config');
    const block = storeBlock(store);
    const old = block.text.replace(
      storeIncludeLine(store),
      `Include "${join(store, 'machines')}/*/ssh_config"`.replace('%', '%%'),
    );
    assert.notEqual(old, block.text);
    const before = 'Host build\n  HostName 10.1.1.1\n';
    const afterText = '\nHost *\n  ServerAliveInterval 30'; // no final newline
    writeFileSync(file, `${before}${old}${afterText}`, { mode: 0o640 });
    assert.equal(await addStoreBlock(file, store), 'rewritten');
    assert.equal(readFileSync(file, 'utf8'), `${before}${block.text}${afterText}`);
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.equal(await addStoreBlock(file, store), undefined);
  });

  test('a begin marker without its end is left alone', async () => {
    const file = join(work, 'half-block-config');
    const text = `${storeBlock('/s9').begin}\nInclude /elsewhere/*\n`;
    writeFileSync(file, text);
    assert.equal(await addStoreBlock(file, '/s9'), undefined);
    assert.equal(readFileSync(file, 'utf8'), text);
  });
});
