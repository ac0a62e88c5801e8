import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSSHKeyPair } from '../../ssh/keys.js';
import { md5Fingerprint } from '../cloud/key-fingerprint.js';
import { doctlToken } from './credentials.js';
import { hostnameProblem } from './index.js';
import { machineState } from './state.js';

test("doctl's config: the current context's token, else access-token, else none", async () => {
  const home = await mkdtemp(join(tmpdir(), 'dm-doctl-'));
  try {
    const dir = join(home, '.config', 'doctl');
    await mkdir(dir, { recursive: true });
    assert.equal(doctlToken({ HOME: home }), '');
    await writeFile(join(dir, 'config.yaml'), 'access-token: tok-default\ncontext: default\noutput: text\n');
    assert.equal(doctlToken({ HOME: home }), 'tok-default');
    await writeFile(
      join(dir, 'config.yaml'),
      'access-token: tok-default\nauth-contexts:\n  work: "tok-work"\n  home: tok-home\ncontext: work\n',
    );
    assert.equal(doctlToken({ HOME: home }), 'tok-work');
    // XDG_CONFIG_HOME wins over HOME, as doctl reads it.
    const xdg = join(home, 'xdg');
    await mkdir(join(xdg, 'doctl'), { recursive: true });
    await writeFile(join(xdg, 'doctl', 'config.yaml'), "access-token: 'tok-xdg'\n");
    assert.equal(doctlToken({ HOME: home, XDG_CONFIG_HOME: xdg }), 'tok-xdg');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('the MD5 fingerprint DigitalOcean gives a key is what ssh-keygen -E md5 prints', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-dofp-'));
  try {
    const key = join(dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(key);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${key}.pub`], { encoding: 'utf8' });
    assert.equal(`MD5:${md5Fingerprint(publicLine)}`, out.split(' ')[1]);
    assert.equal(publicLine, await readFile(`${key}.pub`, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('droplet names: what DigitalOcean refuses', () => {
  assert.equal(hostnameProblem('web-1.example'), '');
  assert.match(hostnameProblem(`a${'b'.repeat(63)}`), /longer than 63/);
  assert.match(hostnameProblem('web-'), /start or end with -/);
  assert.match(hostnameProblem('a..b'), /empty label/);
  assert.match(hostnameProblem('a_b'), /only a-z/);
  assert.match(hostnameProblem(`${'a.'.repeat(130)}a`), /longer than 253/);
});

test('droplet status to machine state, as the original (spec §7.2)', () => {
  assert.equal(machineState('new'), 'Starting');
  assert.equal(machineState('active'), 'Running');
  assert.equal(machineState('off'), 'Stopped');
  assert.equal(machineState('archive'), '');
});
