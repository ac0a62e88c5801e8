import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildHostOptions } from '../api/host-options.js';
import { sshEngineVars } from '../cli/env.js';
import { boot2dockerProfile, dockerdArgs, systemdDropIn } from '../provision/daemon-options.js';
import { renderEnv } from '../shell/env.js';
import {
  addStoreBlock,
  machineSSHConfig,
  removeStoreBlock,
  storeHasSSHEngines,
  userSSHConfigPath,
} from '../ssh/user-config.js';
import { checkHostV3, SchemaError } from '../store/schema.js';
import { engineEndpointKind, sshEngineURL } from './endpoint.js';

const work = mkdtempSync(join(tmpdir(), 'dm-endpoint-'));
after(() => rmSync(work, { recursive: true, force: true }));

function config(endpoint?: string) {
  const HostOptions = buildHostOptions('/store', 'm', { engine: { endpoint } });
  return { ConfigVersion: 3, Driver: {}, DriverName: 'generic', HostOptions, Name: 'm' };
}

describe('SSH-only engines (--engine-endpoint ssh)', () => {
  test('the URL: ssh://USER@HOST:PORT, an IPv6 host in brackets', () => {
    assert.equal(sshEngineURL({ user: 'root', host: '10.0.0.5', port: 22 }), 'ssh://root@10.0.0.5:22');
    assert.equal(
      sshEngineURL({ user: 'docker', host: 'fd00::5', port: 2222 }),
      'ssh://docker@[fd00::5]:2222',
    );
    assert.equal(
      sshEngineURL({ user: 'ubuntu', host: 'web.example', port: 22 }),
      'ssh://ubuntu@web.example:22',
    );
  });

  test('the store records ssh only when asked; an original config reads as tcp; another word is refused', () => {
    const tcp = config();
    assert.equal('EngineEndpoint' in tcp.HostOptions.EngineOptions, false);
    assert.equal(engineEndpointKind(checkHostV3(JSON.parse(JSON.stringify(tcp)))), 'tcp');
    const ssh = checkHostV3(JSON.parse(JSON.stringify(config('ssh'))));
    assert.equal(ssh.HostOptions.EngineOptions.EngineEndpoint, 'ssh');
    assert.equal(engineEndpointKind(ssh), 'ssh');
    const bad = JSON.parse(JSON.stringify(config('ssh')));
    bad.HostOptions.EngineOptions.EngineEndpoint = 'udp';
    assert.throws(
      () => checkHostV3(bad),
      (e: Error) => e instanceof SchemaError && /EngineEndpoint: expected "tcp" or "ssh"/.test(e.message),
    );
  });

  test('env: DOCKER_HOST set, the TLS variables unset, in each shell', () => {
    const vars = sshEngineVars('m', 'ssh://root@10.0.0.5:22');
    const render = (shell: string) => renderEnv({ shell, unset: false, vars, commandLine: 'dm env m' });
    assert.equal(
      render('bash').split('\n').slice(0, 4).join('\n'),
      'unset DOCKER_TLS_VERIFY\nexport DOCKER_HOST="ssh://root@10.0.0.5:22"\nunset DOCKER_CERT_PATH\nexport DOCKER_MACHINE_NAME="m"',
    );
    assert.equal(
      render('fish').split('\n').slice(0, 4).join('\n'),
      'set -e DOCKER_TLS_VERIFY;\nset -gx DOCKER_HOST "ssh://root@10.0.0.5:22";\nset -e DOCKER_CERT_PATH;\nset -gx DOCKER_MACHINE_NAME "m";',
    );
    assert.match(
      render('powershell'),
      /^Remove-Item Env:\\\\DOCKER_TLS_VERIFY\n\$Env:DOCKER_HOST = "ssh:\/\/root@10\.0\.0\.5:22"\n/,
    );
  });

  test('the engine listens on its socket only: no -H tcp://, no TLS flags', () => {
    const setup = (endpoint?: string) => ({
      dockerd: '/usr/bin/dockerd',
      port: 2376,
      socketActivated: true,
      driverName: 'generic',
      engine: buildHostOptions('/store', 'm', { engine: { endpoint } }).EngineOptions,
    });
    const ssh = dockerdArgs(setup('ssh'));
    assert.deepEqual(ssh.slice(0, 3), ['-H', 'fd://', '--live-restore']);
    assert.ok(!ssh.some((a) => a.startsWith('tcp://') || a.startsWith('--tls')), ssh.join(' '));
    assert.ok(dockerdArgs(setup()).includes('tcp://0.0.0.0:2376'));
    // The machine images' "start once provisioned" condition (a server certificate) is cleared.
    assert.match(systemdDropIn(setup('ssh')), /^\[Unit\]\nConditionPathExists=\n\n\[Service\]\nExecStart=\n/);
    assert.doesNotMatch(systemdDropIn(setup()), /Condition/);
    const profile = boot2dockerProfile(setup('ssh'));
    assert.doesNotMatch(profile, /tcp:\/\/|server\.pem/);
    assert.match(profile, /^DOCKER_TLS=no$/m);
  });

  test('the ssh_config entry: this host, user and port; the machine key; the pinned host key, strictly', () => {
    const entry = machineSSHConfig('m', {
      host: '10.0.0.5',
      port: 2222,
      user: 'docker',
      keyPath: '/my store/machines/m/id_rsa',
      knownHostsPath: '/my store/machines/m/known_hosts',
    });
    assert.equal(
      entry.split('\n').slice(1).join('\n'),
      [
        'Match originalhost 10.0.0.5 user docker exec "test %p = 2222"',
        '  IdentityFile "/my store/machines/m/id_rsa"',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile "/my store/machines/m/known_hosts"',
        '  StrictHostKeyChecking yes',
        '  PasswordAuthentication no',
        '',
      ].join('\n'),
    );
  });

  test("the user's ssh config: one block at the top, added once, taken out leaving every byte as it was", async () => {
    const file = join(work, 'config');
    const mine = 'Host *\n  ServerAliveInterval 30\n\nHost build\n  HostName 10.1.1.1'; // no final newline
    writeFileSync(file, mine, { mode: 0o640 });
    assert.equal(await addStoreBlock(file, '/s1'), 'added');
    assert.equal(await addStoreBlock(file, '/s1'), undefined);
    assert.equal(await addStoreBlock(file, '/s2'), 'added');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('# BEGIN docker-machine store /s2\n'), text);
    assert.match(text, /^Include \/s1\/machines\/\*\/ssh_config$/m);
    assert.ok(text.endsWith(mine));
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.equal(await removeStoreBlock(file, '/s1'), true);
    assert.equal(await removeStoreBlock(file, '/s1'), false);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /\/s1/);
    assert.equal(await removeStoreBlock(file, '/s2'), true);
    assert.equal(readFileSync(file, 'utf8'), mine);
  });

  test('a config file that we made goes with the block; a symlinked one is written where it points', async () => {
    const made = join(work, 'made', '.ssh', 'config');
    await addStoreBlock(made, '/s1');
    assert.equal(statSync(made).mode & 0o777, 0o600);
    await removeStoreBlock(made, '/s1');
    assert.throws(() => statSync(made), /ENOENT/);

    const real = join(work, 'dotfiles-ssh-config');
    writeFileSync(real, 'Host a\n');
    const link = join(work, 'linked-config');
    symlinkSync(real, link);
    await addStoreBlock(link, '/s1');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.match(readFileSync(real, 'utf8'), /^# BEGIN docker-machine store \/s1\n/);
    await removeStoreBlock(link, '/s1');
    assert.equal(readFileSync(real, 'utf8'), 'Host a\n');
  });

  test('which file, and whether any machine still needs the block', () => {
    assert.equal(userSSHConfigPath({ MACHINE_SSH_USER_CONFIG: 'off' }), undefined);
    assert.equal(userSSHConfigPath({ MACHINE_SSH_USER_CONFIG: '/x/config' }), '/x/config');
    assert.match(userSSHConfigPath({ HOME: '/elsewhere' }) ?? '', /\.ssh\/config$/);
    assert.doesNotMatch(userSSHConfigPath({ HOME: '/elsewhere' }) ?? '', /^\/elsewhere/);
    const store = join(work, 'store');
    assert.equal(storeHasSSHEngines(store), false);
    const m = join(store, 'machines', 'm');
    mkdirSync(m, { recursive: true });
    assert.equal(storeHasSSHEngines(store), false);
    writeFileSync(join(m, 'ssh_config'), '');
    assert.equal(storeHasSSHEngines(store), true);
  });
});
