import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSSHKeyPair } from '../../ssh/keys.js';
import { md5Fingerprint } from '../cloud/key-fingerprint.js';
import { hcloudToken } from './credentials.js';
import { machineState, parseLabels, serverNameProblem } from './state.js';

test("hcloud's cli.toml: the token of $HCLOUD_CONTEXT, else of active_context, else none", async () => {
  const home = await mkdtemp(join(tmpdir(), 'dm-hcloud-'));
  try {
    const dir = join(home, '.config', 'hcloud');
    await mkdir(dir, { recursive: true });
    assert.equal(hcloudToken({ HOME: home }), '');
    await writeFile(
      join(dir, 'cli.toml'),
      [
        '# written by hcloud context create',
        'active_context = "prod"',
        '',
        '[preferences]',
        '  token = "not-a-context"',
        '',
        '[[contexts]]',
        '  name = "dev"',
        "  token = 'tok-dev'",
        '',
        '[[contexts]]',
        '  name = "prod"',
        '  token = "tok-\\"prod\\""',
        '',
      ].join('\n'),
    );
    assert.equal(hcloudToken({ HOME: home }), 'tok-"prod"');
    assert.equal(hcloudToken({ HOME: home, HCLOUD_CONTEXT: 'dev' }), 'tok-dev');
    assert.equal(hcloudToken({ HOME: home, HCLOUD_CONTEXT: 'gone' }), '');
    // $HCLOUD_CONFIG names another file, as hcloud reads it.
    const other = join(home, 'other.toml');
    await writeFile(other, 'active_context = "x"\n[[contexts]]\nname = "x"\ntoken = "tok-x"\n');
    assert.equal(hcloudToken({ HOME: home, HCLOUD_CONFIG: other }), 'tok-x');
    // No active context: no token (hcloud asks for one too).
    await writeFile(other, '[[contexts]]\nname = "x"\ntoken = "tok-x"\n');
    assert.equal(hcloudToken({ HOME: home, HCLOUD_CONFIG: other }), '');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('the MD5 fingerprint Hetzner gives a key is what ssh-keygen -E md5 prints', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-hzfp-'));
  try {
    const key = join(dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(key);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${key}.pub`], { encoding: 'utf8' });
    assert.equal(`MD5:${md5Fingerprint(publicLine)}`, out.split(' ')[1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('server names: what Hetzner Cloud refuses (RFC 1123)', () => {
  assert.equal(serverNameProblem('web-1.example'), '');
  assert.match(serverNameProblem(`a${'b'.repeat(63)}`), /longer than 63/);
  assert.match(serverNameProblem('web-'), /start or end with -/);
  assert.match(serverNameProblem('a..b'), /empty label/);
  assert.match(serverNameProblem('a_b'), /only letters, digits/);
});

test('labels: key=value as Hetzner takes them, the first bad one named', () => {
  assert.deepEqual(parseLabels(['team=a', 'example.com/env=prod-1', 'flag', 'empty='], 'f'), {
    labels: { team: 'a', 'example.com/env': 'prod-1', flag: '', empty: '' },
    problem: '',
  });
  assert.match(
    parseLabels(['a=b c'], 'hetzner-server-label').problem,
    /--hetzner-server-label a=b c: "b c" is not a label value/,
  );
  assert.match(parseLabels(['-x=1'], 'f').problem, /"-x" is not a label key/);
  assert.match(parseLabels(['Bad_Prefix/x=1'], 'f').problem, /not a label key/);
  assert.match(parseLabels([`k=${'v'.repeat(64)}`], 'f').problem, /not a label value/);
});

test('server status to machine state (spec §7.2)', () => {
  assert.equal(machineState('initializing'), 'Starting');
  assert.equal(machineState('starting'), 'Starting');
  assert.equal(machineState('running'), 'Running');
  assert.equal(machineState('stopping'), 'Stopping');
  assert.equal(machineState('off'), 'Stopped');
  for (const s of ['deleting', 'migrating', 'rebuilding', 'unknown']) assert.equal(machineState(s), '');
});
