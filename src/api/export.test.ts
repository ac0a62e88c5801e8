import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodePayload } from '../export/bundle.js';
import { open } from '../export/format.js';
import type { HostConfig } from '../store/host.js';
import type { ProgressEvent } from './events.js';
import { MachineAPI } from './index.js';

// The library's export and import between real stores (none machines: no engine needed), for
// what the CLI tests do not reach: a CA key kept in a machine folder, and files left behind.
const cost = { log2N: 10, r: 8, p: 1 };
const passphrase = 'library passphrase';
const parse = (t: string) => JSON.parse(t) as HostConfig;

describe('MachineAPI.exportMachine / importMachine', () => {
  let root: string;
  const events: Record<string, ProgressEvent[]> = {};
  const api = (name: string) => {
    events[name] = [];
    return new MachineAPI({
      storePath: join(root, name),
      env: { DOCKER_CONFIG: join(root, `${name}-docker`), USER: 'test' },
      events: (e) => events[name].push(e),
    });
  };
  const warnings = (name: string) => events[name].filter((e) => e.kind === 'warn').map((e) => e.message);
  let a: MachineAPI;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dm-export-api-'));
    a = api('a');
    await a.create({
      name: 'm',
      driver: 'none',
      driverFlags: await a.driverFlags('none', { url: 'tcp://127.0.0.1:1' }),
    });
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('a CA key imported into a machine folder leaves again only with withCA', async () => {
    const b = api('b');
    await b.create({
      name: 'other',
      driver: 'none',
      driverFlags: await b.driverFlags('none', { url: 'tcp://127.0.0.1:1' }),
    });
    const withCA = await a.exportMachine('m', { passphrase, withCA: true, cost });
    const m2 = await b.importMachine(withCA, { passphrase, name: 'm2' });
    assert.equal(m2.name, 'm2');
    assert.equal(await m2.driver.getURL(), 'tcp://127.0.0.1:1');
    const dir = join(root, 'b', 'machines', 'm2');
    const caKey = await readFile(join(root, 'a', 'certs', 'ca-key.pem'));
    // b has a CA of its own: the machine keeps a's, with its key, in its folder.
    assert.equal(m2.config.HostOptions.AuthOptions.CaPrivateKeyPath, join(dir, 'ca-key.pem'));
    assert.deepEqual(await readFile(join(dir, 'ca-key.pem')), caKey);
    assert.equal((await stat(join(dir, 'ca-key.pem'))).mode & 0o777, 0o600);
    assert.notDeepEqual(await readFile(join(root, 'b', 'certs', 'ca-key.pem')), caKey);

    const again = decodePayload(
      await open(await b.exportMachine('m2', { passphrase, cost }), passphrase),
      parse,
    );
    assert.equal(again.auth.caKey, undefined);
    assert.ok(!again.files.some((f) => f.data.equals(caKey)), again.files.map((f) => f.path).join(' '));
    assert.deepEqual(
      again.skipped.map((s) => [s.path, s.reason]),
      [['ca-key.pem', "the CA's private key; export with --with-ca to include it"]],
    );
    const full = decodePayload(
      await open(await b.exportMachine('m2', { passphrase, withCA: true, cost }), passphrase),
      parse,
    );
    assert.deepEqual(full.auth.caKey, caKey);

    // Its docker context was made in b's docker config, with a's CA.
    const id = createHash('sha256').update('m2').digest('hex');
    const meta = JSON.parse(
      await readFile(join(root, 'b-docker', 'contexts', 'meta', id, 'meta.json'), 'utf8'),
    );
    assert.equal(meta.Endpoints.docker.Host, 'tcp://127.0.0.1:1');
    assert.deepEqual(
      await readFile(join(root, 'b-docker', 'contexts', 'tls', id, 'docker', 'ca.pem')),
      await readFile(join(root, 'a', 'certs', 'ca.pem')),
    );
  });

  test('a disk image in the folder stays behind, and both sides say so', async () => {
    await writeFile(join(root, 'a', 'machines', 'm', 'disk.qcow2'), 'disk!');
    try {
      events.a.length = 0;
      const data = await a.exportMachine('m', { passphrase, cost });
      assert.deepEqual(warnings('a'), [
        "Warning: not exported: disk.qcow2 (a disk image, 5 B); the machine's disk stays here, so the imported machine cannot start (docs/export.md)",
      ]);
      const d = api('d');
      await d.importMachine(data, { passphrase });
      assert.deepEqual(warnings('d'), ['Warning: not in the export: disk.qcow2 (a disk image, 5 B)']);
      await assert.rejects(stat(join(root, 'd', 'machines', 'm', 'disk.qcow2')));
      assert.deepEqual(await d.names(), ['m']);
    } finally {
      await rm(join(root, 'a', 'machines', 'm', 'disk.qcow2'));
    }
  });

  test('refusals before anything is written: an unknown machine, an invalid or taken name, an empty passphrase', async () => {
    await assert.rejects(
      a.exportMachine('nope', { passphrase, cost }),
      /Docker machine "nope" does not exist/,
    );
    await assert.rejects(a.exportMachine('m', { passphrase: '', cost }), /the passphrase is empty/);
    const data = await a.exportMachine('m', { passphrase, cost });
    const e = api('e');
    await assert.rejects(
      e.importMachine(data, { passphrase, name: 'bad/name' }),
      /Invalid hostname specified/,
    );
    await assert.rejects(
      e.importMachine(data, { passphrase: 'nope' }),
      /Error: cannot decrypt the export: wrong passphrase or the file was changed$/,
    );
    await assert.rejects(stat(join(root, 'e')));
    await assert.rejects(a.importMachine(data, { passphrase }), /already exists in this store .*--name NEW/);
  });
});
