import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureCertificates } from '../../src/api/certs.js';
import { buildHostOptions } from '../../src/api/host-options.js';
import { generateServerCert } from '../../src/cert/server.js';
import { baseDriverFields } from '../../src/drivers/base.js';
import { decodePayload } from '../../src/export/bundle.js';
import { open } from '../../src/export/format.js';
import type { HostConfig } from '../../src/store/host.js';
import { Store } from '../../src/store/store.js';
import { binPath, type CliStore, cleanEnv, runProcess, tempStore } from '../helpers/cli.js';
import { type Dockerd, dockerdAvailable, startDockerd } from '../helpers/dockerd.js';
import { killAt } from '../helpers/kill-at.js';
import { freePort } from '../helpers/ports.js';
import { sshdAvailable, startSshd } from '../helpers/sshd.js';

// A `none` machine in front of a real dockerd serving TLS with a certificate of its store's CA;
// the machine is exported, imported into other stores (other paths, other CAs), and the real
// docker CLI reaches the engine through each import's docker context and env.
const skip = dockerdAvailable() ? false : 'needs dockerd and root (npm test installs docker.io)';
const PASS = 'export test passphrase';
const withPass = { MACHINE_EXPORT_PASSPHRASE: PASS };

/** Every path under a folder with its size and mode: what "nothing was written" compares. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(d, e.name);
      const st = await stat(p);
      out.push(`${relative(dir, p)} ${st.size} ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

const parseConfig = (t: string) => JSON.parse(t) as HostConfig;

describe('export and import of a machine between stores', { skip }, () => {
  let a: CliStore;
  let work: string;
  let d: Dockerd;
  let file: string;
  const stores: CliStore[] = [];
  const newStore = async () => {
    const s = await tempStore();
    stores.push(s);
    return s;
  };

  before(async () => {
    a = await newStore();
    work = await mkdtemp(join(tmpdir(), 'dm-export-'));
    const port = await freePort();
    const mk = await a.run(['create', '-d', 'none', '--url', `tcp://127.0.0.1:${port}`, 'src']);
    assert.equal(mk.code, 0, mk.stderr);
    await generateServerCert({
      caCertPath: join(a.dir, 'certs', 'ca.pem'),
      caKeyPath: join(a.dir, 'certs', 'ca-key.pem'),
      certPath: join(work, 'server.pem'),
      keyPath: join(work, 'server-key.pem'),
      org: 'unknown.src',
      hosts: ['127.0.0.1', 'localhost'],
    });
    d = await startDockerd({
      caCertPath: join(a.dir, 'certs', 'ca.pem'),
      serverCertPath: join(work, 'server.pem'),
      serverKeyPath: join(work, 'server-key.pem'),
      port,
      apiOnly: true,
    });
    file = join(work, 'src.dmexport');
    const ex = await a.run(['export', 'src', '-o', file], { env: withPass });
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, '');
    assert.equal(ex.stderr, `Exported "src" to ${file}\n`);
  });

  after(async () => {
    await d?.stop();
    for (const s of stores) await s.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  /** `docker --context NAME ps` and `eval $(env NAME) && docker ps` against the store's docker config. */
  async function dockerPs(s: CliStore, name: string): Promise<void> {
    const dockerConfig = { DOCKER_CONFIG: join(s.dir, 'docker-config') };
    const byContext = await runProcess('docker', ['--context', name, 'ps', '--format', '{{.ID}}'], {
      env: dockerConfig,
    });
    assert.equal(byContext.code, 0, byContext.stderr);
    const byEnv = await runProcess(
      'bash',
      ['-c', `eval "$("${process.execPath}" "${binPath}" env ${name})" && docker ps --format '{{.ID}}'`],
      { env: { MACHINE_STORAGE_PATH: s.dir, ...dockerConfig } },
    );
    assert.equal(byEnv.code, 0, byEnv.stderr);
    const ls = await s.run([
      'ls',
      '--filter',
      `name=${name}`,
      '--format',
      '{{.Name}} {{.State}} {{.DockerVersion}}',
    ]);
    assert.match(ls.stdout, new RegExp(`^${name} Running v20\\.10\\.\\d+\\S*\\n$`));
  }

  test('the file is 0600 and holds no plaintext; the CA key is absent without --with-ca, present with it', async () => {
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const data = await readFile(file);
    assert.equal(data.subarray(0, 8).toString(), 'DMEXPORT');
    assert.equal(data.indexOf('PRIVATE KEY'), -1);
    assert.equal(data.indexOf('src'), -1);
    const caKey = await readFile(join(a.dir, 'certs', 'ca-key.pem'));
    const caKeyBody = caKey.toString().split('\n')[1];
    const p = decodePayload(await open(data, PASS), parseConfig);
    assert.equal(p.auth.caKey, undefined);
    const plain = (await open(data, PASS)).toString();
    assert.ok(!plain.includes(caKeyBody) && !plain.includes(caKey.toString('base64')));
    assert.deepEqual(p.auth.ca, await readFile(join(a.dir, 'certs', 'ca.pem')));
    assert.deepEqual(p.auth.key, await readFile(join(a.dir, 'certs', 'key.pem')));
    assert.deepEqual(p.files.map((f) => f.path).sort(), ['ca.pem', 'cert.pem', 'key.pem']);
    assert.equal(p.store, a.dir);

    const withCA = join(work, 'with-ca.dmexport');
    const r = await a.run(['export', 'src', '--with-ca', '-o', withCA], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /holds the CA's private key/);
    const q = decodePayload(await open(await readFile(withCA), PASS), parseConfig);
    assert.deepEqual(q.auth.caKey, caKey);
  });

  test('import into an empty store elsewhere: paths rewritten, keys 0600, its own CA kept, docker ps works', async () => {
    const b = await newStore();
    const r = await b.run(['import', file], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The machine keeps the CA it was made with \(this store has none; /);
    assert.match(r.stdout, /Imported "src" \(none\) from /);
    const dir = join(b.dir, 'machines', 'src');
    const raw = await readFile(join(dir, 'config.json'), 'utf8');
    assert.ok(!raw.includes(a.dir), raw);
    const c = JSON.parse(raw) as HostConfig;
    const auth = c.HostOptions.AuthOptions;
    assert.equal(auth.StorePath, dir);
    assert.equal(auth.CaCertPath, join(dir, 'ca.pem'));
    assert.equal(auth.ClientKeyPath, join(dir, 'key.pem'));
    assert.equal(c.Driver.StorePath, b.dir);
    assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(b.dir, 'machines')), ['.locks', 'src']);
    // No CA key came, and the store did not get one.
    await assert.rejects(stat(join(dir, 'ca-key.pem')));
    await assert.rejects(stat(join(b.dir, 'certs', 'ca.pem')));
    await dockerPs(b, 'src');
  });

  test('import --name into a store with another CA: both machines work', async () => {
    const c = await newStore();
    const other = await c.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'other']);
    assert.equal(other.code, 0, other.stderr);
    const r = await c.run(['import', file, '--name', 'copy'], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The machine keeps the CA it was made with \(this store's CA is another one\)/);
    const cfg = JSON.parse(
      await readFile(join(c.dir, 'machines', 'copy', 'config.json'), 'utf8'),
    ) as HostConfig;
    assert.equal(cfg.Name, 'copy');
    assert.equal(cfg.Driver.MachineName, 'copy');
    assert.equal(cfg.HostOptions.AuthOptions.CaCertPath, join(c.dir, 'machines', 'copy', 'ca.pem'));
    await dockerPs(c, 'copy');
    // The store's own CA is untouched and still the one of its own machine.
    const storeCA = await readFile(join(c.dir, 'certs', 'ca.pem'));
    assert.notDeepEqual(storeCA, await readFile(join(a.dir, 'certs', 'ca.pem')));
    assert.deepEqual(await readFile(join(c.dir, 'machines', 'other', 'ca.pem')), storeCA);
  });

  test("--with-ca into an empty store: the CA becomes the store's, and new machines share it", async () => {
    const withCA = join(work, 'with-ca-2.dmexport');
    assert.equal((await a.run(['export', 'src', '--with-ca', '-o', withCA], { env: withPass })).code, 0);
    const e = await newStore();
    const r = await e.run(['import', withCA], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The exported CA is now this store's CA/);
    assert.deepEqual(
      await readFile(join(e.dir, 'certs', 'ca.pem')),
      await readFile(join(a.dir, 'certs', 'ca.pem')),
    );
    assert.equal((await stat(join(e.dir, 'certs', 'ca-key.pem'))).mode & 0o777, 0o600);
    const cfg = JSON.parse(
      await readFile(join(e.dir, 'machines', 'src', 'config.json'), 'utf8'),
    ) as HostConfig;
    assert.equal(cfg.HostOptions.AuthOptions.CaCertPath, join(e.dir, 'certs', 'ca.pem'));
    assert.equal(cfg.HostOptions.AuthOptions.CaPrivateKeyPath, join(e.dir, 'certs', 'ca-key.pem'));
    await assert.rejects(stat(join(e.dir, 'machines', 'src', 'ca-key.pem')));
    await dockerPs(e, 'src');
    // A machine created next in that store trusts the same CA: no new CA is made.
    const mk = await e.run(['create', '-d', 'none', '--url', `${d.url}`, 'second']);
    assert.equal(mk.code, 0, mk.stderr);
    assert.doesNotMatch(mk.stdout, /Creating CA/);
    await dockerPs(e, 'second');
  });

  test("import into the store it came from under --name shares the store's CA files", async () => {
    const r = await a.run(['import', file, '--name', 'twin'], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /keeps the CA/);
    const cfg = JSON.parse(
      await readFile(join(a.dir, 'machines', 'twin', 'config.json'), 'utf8'),
    ) as HostConfig;
    assert.equal(cfg.HostOptions.AuthOptions.CaCertPath, join(a.dir, 'certs', 'ca.pem'));
    assert.equal(cfg.HostOptions.AuthOptions.ClientKeyPath, join(a.dir, 'certs', 'key.pem'));
    await dockerPs(a, 'twin');
  });

  test('a taken name is refused in one line naming --name', async () => {
    const before = await tree(a.dir);
    const r = await a.run(['import', file], { env: withPass });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `Error: Docker machine "src" already exists in this store (${a.dir}): import it under another name with --name NEW\n`,
    );
    assert.deepEqual(await tree(a.dir), before);
  });

  test('a wrong passphrase, a flipped byte anywhere, a cut file: one line, exit 1, nothing written', async () => {
    const s = await newStore();
    assert.equal((await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:9', 'here'])).code, 0);
    const before = await tree(s.dir);
    const data = await readFile(file);
    const cases: [string, Buffer, NodeJS.ProcessEnv][] = [
      ['wrong passphrase', data, { MACHINE_EXPORT_PASSPHRASE: `${PASS}!` }],
      ['cut in half', data.subarray(0, data.length >> 1), withPass],
      ['header only', data.subarray(0, 42), withPass],
      ['one byte short', data.subarray(0, data.length - 1), withPass],
      ['empty', Buffer.alloc(0), withPass],
    ];
    // Magic, version, cost, salt, nonce, the first and a middle ciphertext byte, the tag.
    for (const i of [0, 8, 11, 20, 35, 42, data.length >> 1, data.length - 1]) {
      const bad = Buffer.from(data);
      bad[i] ^= 0x20;
      cases.push([`byte ${i} flipped`, bad, withPass]);
    }
    for (const [what, bytes, env] of cases) {
      const f = join(work, 'bad.dmexport');
      await writeFile(f, bytes);
      const r = await s.run(['import', f], { env });
      assert.equal(r.code, 1, what);
      assert.equal(r.stdout, '', what);
      assert.match(
        r.stderr,
        new RegExp(
          `^Error: cannot decrypt ${f.replaceAll('.', '\\.')}: [^\\n]*wrong passphrase or the file was changed\\n$`,
        ),
        what,
      );
      assert.deepEqual(await tree(s.dir), before, what);
    }
  });

  test('no passphrase and no terminal: one line, exit 1, no file made and nothing imported', async () => {
    const out = join(work, 'none.dmexport');
    const ex = await a.run(['export', 'src', '-o', out]);
    assert.equal(ex.code, 1);
    assert.equal(
      ex.stderr,
      'Error: export needs a passphrase: set MACHINE_EXPORT_PASSPHRASE, or run it on a terminal to be asked\n',
    );
    await assert.rejects(stat(out));
    const s = await newStore();
    const im = await s.run(['import', file]);
    assert.equal(im.code, 1);
    assert.equal(
      im.stderr,
      'Error: import needs a passphrase: set MACHINE_EXPORT_PASSPHRASE, or run it on a terminal to be asked\n',
    );
    assert.deepEqual(await tree(s.dir), []);
  });

  test('-o - writes the file to stdout and import - reads it from stdin; --debug shows no secret', async () => {
    const s = await newStore();
    const env = { MACHINE_STORAGE_PATH: a.dir, ...withPass };
    const dm = `"${process.execPath}" "${binPath}"`;
    const r = await runProcess(
      'bash',
      [
        '-c',
        `set -o pipefail; ${dm} --debug export src -o - | MACHINE_STORAGE_PATH="${s.dir}" ${dm} --debug import --name piped -`,
      ],
      { env: { ...env, DOCKER_CONFIG: join(s.dir, 'docker-config') } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Imported "piped" \(none\) from stdin/);
    // Both ends logged (--debug), and neither logged the passphrase or a key.
    assert.equal((r.stderr.match(/^Docker Machine Version: /gm) ?? []).length, 2, r.stderr);
    assert.ok(!r.stderr.includes(PASS) && !r.stdout.includes(PASS));
    assert.doesNotMatch(r.stderr, /BEGIN [A-Z ]*PRIVATE KEY/);
    await dockerPs(s, 'piped');
  });

  test('a kill just before the rename leaves no machine; the next import removes the leftover', async () => {
    const s = await newStore();
    const env = { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: join(s.dir, 'docker-config'), ...withPass };
    await killAt('import-before-rename', ['import', file], { env });
    const left = await readdir(join(s.dir, 'machines'));
    assert.ok(
      left.some((n) => n.startsWith('.importing-')),
      left.join(' '),
    );
    const ls = await s.run(['ls', '-q']);
    assert.equal(ls.stdout, '');
    const r = await s.run(['import', file], { env: withPass });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(join(s.dir, 'machines')), ['.locks', 'src']);
    await dockerPs(s, 'src');
  });

  test('a generic machine: its key and pinned host key travel, and ssh works from the new store alone', {
    skip: !sshdAvailable() && 'needs sshd and root',
  }, async () => {
    const sshd = await startSshd();
    const from = await newStore();
    const to = await newStore();
    try {
      // The machine's config as create writes it for a host it reaches by SSH; the sshd is real.
      const store = new Store(from.dir);
      const dir = store.machineDir('gen');
      await store.claim('gen');
      await copyFile(sshd.keyPath, join(dir, 'id_rsa'));
      await chmod(join(dir, 'id_rsa'), 0o600);
      await store.save({
        ConfigVersion: 3,
        Driver: {
          ...baseDriverFields('gen', from.dir),
          IPAddress: '127.0.0.1',
          SSHUser: sshd.user,
          SSHPort: sshd.port,
          SSHKeyPath: join(dir, 'id_rsa'),
          EnginePort: 2376,
          SSHKey: '',
        },
        DriverName: 'generic',
        HostOptions: buildHostOptions(from.dir, 'gen', {}),
        Name: 'gen',
      });
      const first = await from.run(['ssh', 'gen', '--', 'echo', 'from-a']);
      assert.equal(first.code, 0, first.stderr);
      const pins = await readFile(join(dir, 'known_hosts'), 'utf8');
      assert.match(pins, /ssh-ed25519/);
      // The store's CA and client pair, made as create makes them (export carries them).
      await ensureCertificates(
        { store, certs: {}, env: {}, events: () => {} },
        buildHostOptions(from.dir, 'gen', {}).AuthOptions,
      );
      const out = join(work, 'gen.dmexport');
      const ex = await from.run(['export', 'gen', '-o', out], { env: withPass });
      assert.equal(ex.code, 0, ex.stderr);
      const im = await to.run(['import', out], { env: withPass });
      assert.equal(im.code, 0, im.stderr);
      // Nothing of the first store is used from here on.
      await rm(from.dir, { recursive: true, force: true });
      const newDir = join(to.dir, 'machines', 'gen');
      const cfg = JSON.parse(await readFile(join(newDir, 'config.json'), 'utf8')) as HostConfig;
      assert.equal(cfg.Driver.SSHKeyPath, join(newDir, 'id_rsa'));
      assert.equal((await stat(join(newDir, 'id_rsa'))).mode & 0o777, 0o600);
      assert.equal(await readFile(join(newDir, 'known_hosts'), 'utf8'), pins);
      const again = await to.run(['ssh', 'gen', '--', 'echo', 'from-b']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, 'from-b\n');
    } finally {
      await sshd.stop();
    }
  });

  test('on a terminal the passphrase is asked (twice for export) and never echoed', {
    skip: !hasScript() && 'needs script(1)',
  }, async () => {
    const s = await newStore();
    const out = join(work, 'typed.dmexport');
    const ex = await typeAtPrompts(['export', 'src', '-o', out], [PASS, PASS], a.dir);
    assert.equal(ex.code, 0, ex.output);
    assert.equal((ex.output.match(/Passphrase( again)?: /g) ?? []).length, 2, ex.output);
    assert.ok(!ex.output.includes(PASS), ex.output);
    const im = await typeAtPrompts(['import', '--name', 'typed', out], [PASS], s.dir);
    assert.equal(im.code, 0, im.output);
    assert.ok(!im.output.includes(PASS), im.output);
    assert.match(im.output, /Imported "typed"/);
    // Two different answers: nothing is written.
    const bad = join(work, 'mismatch.dmexport');
    const mm = await typeAtPrompts(['export', 'src', '-o', bad], [PASS, 'something else'], a.dir);
    assert.equal(mm.code, 1);
    assert.match(mm.output, /Error: the two passphrases differ; nothing was written/);
    await assert.rejects(stat(bad));
  });
});

/**
 * Run the CLI on a terminal (script(1)) and type each answer once its prompt is shown, as a
 * user does: typed earlier, the terminal would echo it before the CLI turns echo off.
 */
function typeAtPrompts(
  args: string[],
  answers: string[],
  store: string,
): Promise<{ code: number; output: string }> {
  const line = [process.execPath, binPath, ...args].map((x) => `'${x}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], {
      env: cleanEnv({ MACHINE_STORAGE_PATH: store, DOCKER_CONFIG: join(store, 'docker-config') }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let prompts = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${line} did not finish: ${output}`));
    }, 60_000);
    child.stdout.on('data', (c) => {
      output += c;
      const seen = (output.match(/Passphrase( again)?: /g) ?? []).length;
      while (prompts < seen && prompts < answers.length) child.stdin.write(`${answers[prompts++]}\r`);
    });
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code: code ?? -1, output });
    });
  });
}

function hasScript(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
