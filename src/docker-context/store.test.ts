import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  contextOwner,
  contextPaths,
  currentContext,
  removeContext,
  setCurrentContext,
  writeContext,
} from './store.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-docker-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const tls = { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') };

test("a context is written where and as the docker CLI keeps it: folders named by the name's SHA-256", async () => {
  await writeContext(dir, { name: 'm1', host: 'tcp://10.0.0.1:2376', description: 'd', store: '/s', tls });
  const id = createHash('sha256').update('m1').digest('hex');
  assert.deepEqual(contextPaths(dir, 'm1'), {
    meta: join(dir, 'contexts', 'meta', id),
    tls: join(dir, 'contexts', 'tls', id),
  });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), 'utf8')), {
    Name: 'm1',
    Metadata: { Description: 'd', DockerMachine: { Store: '/s' } },
    Endpoints: { docker: { Host: 'tcp://10.0.0.1:2376', SkipTLSVerify: false } },
  });
  const docker = join(dir, 'contexts', 'tls', id, 'docker');
  assert.equal(statSync(docker).mode & 0o777, 0o700);
  for (const [f, body] of [
    ['ca.pem', 'CA'],
    ['cert.pem', 'CERT'],
    ['key.pem', 'KEY'],
  ]) {
    assert.equal(readFileSync(join(docker, f), 'utf8'), body);
    assert.equal(statSync(join(docker, f)).mode & 0o777, 0o600);
  }
  assert.equal(await contextOwner(dir, 'm1'), 'ours');
  assert.equal(await contextOwner(dir, 'nope'), 'none');
});

test("a context another tool made is someone else's; an unreadable one too", async () => {
  const { meta } = contextPaths(dir, 'theirs');
  await writeContext(dir, { name: 'theirs', host: 'tcp://x:1', description: '', store: '/s' });
  writeFileSync(
    join(meta, 'meta.json'),
    JSON.stringify({ Name: 'theirs', Metadata: { Description: 'by hand' } }),
  );
  assert.equal(await contextOwner(dir, 'theirs'), 'other');
  writeFileSync(join(meta, 'meta.json'), '{not json');
  assert.equal(await contextOwner(dir, 'theirs'), 'other');
});

test('removing a context removes its metadata and its TLS files', async () => {
  await writeContext(dir, { name: 'gone', host: 'tcp://10.0.0.2:2376', description: '', store: '/s', tls });
  const p = contextPaths(dir, 'gone');
  await removeContext(dir, 'gone');
  assert.equal(existsSync(p.meta), false);
  assert.equal(existsSync(p.tls), false);
  await removeContext(dir, 'gone');
});

test('the current context is set and cleared in config.json, every other key and the mode kept', async () => {
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ auths: { 'r.example': { auth: 'eA==' } }, credsStore: 'pass' }), {
    mode: 0o644,
  });
  await setCurrentContext(dir, 'm1');
  assert.equal(await currentContext(dir), 'm1');
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), {
    auths: { 'r.example': { auth: 'eA==' } },
    credsStore: 'pass',
    currentContext: 'm1',
  });
  assert.equal(statSync(config).mode & 0o777, 0o644);
  await setCurrentContext(dir, null);
  assert.equal(await currentContext(dir), '');
  assert.equal('currentContext' in JSON.parse(readFileSync(config, 'utf8')), false);
});

test('a config.json that is not a JSON object is refused in one line and left as it is', async () => {
  const other = await mkdtemp(join(tmpdir(), 'dm-docker-config-'));
  try {
    writeFileSync(join(other, 'config.json'), '[1, 2');
    await assert.rejects(setCurrentContext(other, 'm1'), {
      message: `${join(other, 'config.json')} is not a JSON object; fix or remove it, then run the command again`,
    });
    assert.equal(readFileSync(join(other, 'config.json'), 'utf8'), '[1, 2');
  } finally {
    await rm(other, { recursive: true, force: true });
  }
});
