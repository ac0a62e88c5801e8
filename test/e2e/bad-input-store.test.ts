import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listDrivers } from '../../src/api/drivers.js';
import { Store } from '../../src/store/store.js';
import {
  type BadInput,
  badInputTests,
  nobodyCannotRun,
  runIn,
  type StoreUnderTest,
} from '../helpers/bad-input.js';
import { cleanEnv, cliArgs, cliProgram, repoRoot } from '../helpers/cli.js';
import { hostFor } from '../helpers/hosts.js';

// Bad inputs about the store and the streams, through bin/docker-machine: names the store cannot
// hold, rm with no answer to read, broken and old config.json files, an empty --storage-path.
// No engine answers at the machines' URL (port 1 on loopback is closed), which these cases need.
const URL_A = 'tcp://127.0.0.1:1';

let template: Promise<string> | undefined;
/**
 * A store with one `none` machine, m1, made by create once and copied for each case (with its
 * paths rewritten): a create per case would be most of the table's time.
 */
const m1 = async (s: StoreUnderTest) => {
  template ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-bad-template-'));
    const r = await runIn(
      dir,
      ['create', '-d', 'none', '--url', URL_A, 'm1'],
      { MACHINE_STORAGE_PATH: dir },
      '',
      false,
    );
    assert.equal(r.code, 0, r.stderr);
    return dir;
  })();
  const from = await template;
  await cp(from, s.dir, { recursive: true });
  await copyMachine(s.dir, from, 'm1', 'm1');
};
after(async () => {
  if (template) await rm(await template, { recursive: true, force: true });
});

/** Copy machine `fromName` of store `from` to `name` in `store`, its paths and name rewritten. */
async function copyMachine(store: string, from: string, name: string, fromName: string): Promise<void> {
  const config = (await readFile(join(from, 'machines', fromName, 'config.json'), 'utf8'))
    .replaceAll(from, store)
    .replaceAll(`machines/${fromName}`, `machines/${name}`)
    .replaceAll(`"${fromName}"`, `"${name}"`);
  await cp(join(from, 'machines', fromName), join(store, 'machines', name), { recursive: true });
  await writeFile(join(store, 'machines', name, 'config.json'), config, { mode: 0o600 });
}
/** m1, and a machine whose config.json is a symlink to itself (ELOOP on every open). */
const withLoop = async (s: StoreUnderTest) => {
  await m1(s);
  await mkdir(join(s.dir, 'machines', 'loop'));
  await symlink('config.json', join(s.dir, 'machines', 'loop', 'config.json'));
};
/** m1, and a machine whose config.json holds `{}` (version 0: migrated when loaded). */
const withEmptyConfig = async (s: StoreUnderTest) => {
  await m1(s);
  await mkdir(join(s.dir, 'machines', 'old'));
  await writeFile(join(s.dir, 'machines', 'old', 'config.json'), '{}');
};
/** m1, and a `none` machine in the original's first format (ConfigVersion 0). */
const withV0 = async (s: StoreUnderTest) => {
  await m1(s);
  const raw = (await readFile(join(repoRoot, 'test/fixtures/store/v0.json'), 'utf8'))
    .replaceAll('$STORE', s.dir)
    .replaceAll('$NAME', 'v0');
  await mkdir(join(s.dir, 'machines', 'v0'));
  await writeFile(join(s.dir, 'machines', 'v0', 'config.json'), raw);
};
/** m1, and a machine whose config.json its owner cannot read. */
const withUnreadable = async (s: StoreUnderTest) => {
  await m1(s);
  await copyMachine(s.dir, s.dir, 'locked', 'm1');
  await chmod(join(s.dir, 'machines', 'locked', 'config.json'), 0o000);
};

const PROMPT =
  'About to remove m1\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): \n';
const NO_ANSWER =
  'Error: rm needs a confirmation and stdin gave no answer: answer y at the prompt, or use -y to remove without one';
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NO_DRIVER = `Driver "" not found. Available drivers: ${listDrivers()
  .map((d) => d.name)
  .join(', ')}. Run 'docker-machine create --help' to see them.`;
/** ls's row of m1, which must show whatever is wrong with the other machines. */
const M1_ROW = /\nm1 +- +none +Running +tcp:\/\/127\.0\.0\.1:1 /;

const cases: BadInput[] = [
  {
    name: 'create: a name of 251 characters, more than the store can hold',
    setup: m1,
    args: ['create', '-d', 'none', '--url', URL_A, 'x'.repeat(251)],
    code: 1,
    error:
      'Error creating machine: Invalid hostname specified: the name has 251 characters; use at most 250 (and at most 63 between dots)',
  },
  {
    name: 'create: a name of 300 characters in labels of 59, more than a file name can be',
    setup: m1,
    args: ['create', '-d', 'none', '--url', URL_A, Array(5).fill('y'.repeat(59)).join('.')],
    code: 1,
    error:
      'Error creating machine: Invalid hostname specified: the name has 299 characters; use at most 250 (and at most 63 between dots)',
  },
  {
    name: 'create: a label of 64 characters, more than a hostname label can be',
    setup: m1,
    args: ['create', '-d', 'none', '--url', URL_A, `a.${'z'.repeat(64)}.b`],
    code: 1,
    error: `Error creating machine: Invalid hostname specified: "${'z'.repeat(64)}" has 64 characters; a hostname has at most 63 between dots`,
  },
  {
    name: 'rm -y of a name no file system can hold: it does not exist',
    setup: m1,
    args: ['rm', '-y', 'q'.repeat(300)],
    code: 1,
    error: `Error removing host "${'q'.repeat(300)}": Docker machine "${'q'.repeat(300)}" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.`,
  },
  {
    name: 'rm without -y, stdin at its end: no answer is not a yes, and it says so',
    setup: m1,
    args: ['rm', 'm1'],
    stdin: '',
    code: 1,
    error: NO_ANSWER,
    stdout: new RegExp(`^${reEscape(PROMPT)}$`),
  },
  {
    name: 'rm without -y, stdin closed',
    setup: m1,
    args: ['rm', 'm1'],
    stdin: { kind: 'closed' },
    code: 1,
    error: NO_ANSWER,
    stdout: new RegExp(`^${reEscape(PROMPT)}$`),
  },
  {
    name: 'rm without -y, stdin open for writing only',
    setup: m1,
    args: ['rm', 'm1'],
    stdin: { kind: 'write-only' },
    code: 1,
    error: NO_ANSWER,
  },
  {
    name: 'rm without -y, stdin a directory',
    setup: m1,
    args: ['rm', 'm1'],
    stdin: { kind: 'directory' },
    code: 1,
    error: NO_ANSWER,
  },
  {
    name: "-s '' ls: an empty storage path, which would be the working directory",
    setup: m1,
    args: ['-s', '', 'ls'],
    code: 1,
    error:
      "Error: --storage-path (-s) is empty: name the store's folder, or leave the flag out for the default (~/.docker/machine)",
  },
  {
    name: "-s '' create: nothing is made in the working directory",
    args: ['-s', '', 'create', '-d', 'none', '--url', URL_A, 'here'],
    code: 1,
    error:
      "Error: --storage-path (-s) is empty: name the store's folder, or leave the flag out for the default (~/.docker/machine)",
  },
  {
    name: 'ls with one config.json a symlink loop: the others are listed, it shows its error',
    setup: withLoop,
    args: ['ls'],
    code: 0,
    error: '',
    stdout: [
      /\nloop +not found +Error +open \S+\/machines\/loop\/config\.json: too many symbolic links encountered\n/,
      M1_ROW,
    ],
  },
  {
    name: 'ls -q with a symlink loop lists the others',
    setup: withLoop,
    args: ['ls', '-q'],
    code: 0,
    error: '',
    // As for any broken config: -q lists the machines that load.
    stdout: /^m1\n$/,
  },
  {
    name: 'active with a symlink loop: the loop is not the active machine',
    setup: withLoop,
    args: ['active'],
    code: 1,
    error: 'No active host found',
  },
  ...['status', 'inspect', 'url', 'env'].map(
    (cmd): BadInput => ({
      name: `${cmd} of a machine whose config.json is a symlink loop`,
      setup: withLoop,
      args: () => (cmd === 'env' ? ['env', '--shell', 'bash', 'loop'] : [cmd, 'loop']),
      code: 1,
      error: /^open \S+\/machines\/loop\/config\.json: too many symbolic links encountered$/,
    }),
  ),
  {
    name: 'status of a machine folder that is a symlink loop: no such machine',
    setup: async (s) => {
      await m1(s);
      await symlink('spin', join(s.dir, 'machines', 'spin'));
    },
    args: ['status', 'spin'],
    code: 1,
    error:
      'Docker machine "spin" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.',
  },
  {
    name: 'rm -y of a machine whose config.json is a symlink loop: kept without -f, as a broken config',
    setup: withLoop,
    args: ['rm', '-y', 'loop'],
    code: 1,
    error: /^Error removing host "loop": open \S+: too many symbolic links encountered$/,
  },
  {
    name: 'ls with a config.json of {} writes nothing (no .bak, no migrated file)',
    setup: withEmptyConfig,
    args: ['ls'],
    code: 0,
    error: '',
    stdout: [new RegExp(`\\nold +not found +Error +${reEscape(NO_DRIVER)}\\n`), M1_ROW],
  },
  ...['status', 'inspect'].map(
    (cmd): BadInput => ({
      name: `${cmd} of a config.json of {} writes nothing`,
      setup: withEmptyConfig,
      args: [cmd, 'old'],
      code: 1,
      error: NO_DRIVER,
    }),
  ),
  {
    name: 'rm -y of a config.json of {} (no driver) keeps it, writes nothing',
    setup: withEmptyConfig,
    args: ['rm', '-y', 'old'],
    code: 1,
    error: `Error removing host "old": ${NO_DRIVER}`,
  },
  ...[['ls'], ['status', 'v0'], ['inspect', 'v0'], ['url', 'v0'], ['ls', '-q'], ['active']].map(
    (args): BadInput => ({
      name: `${args.join(' ')} of a machine in the original's version-0 format: migrated in memory, not on disk`,
      setup: withV0,
      args,
      // No engine answers: active finds none; the others succeed.
      code: args[0] === 'active' ? 1 : 0,
      error: args[0] === 'active' ? 'No active host found' : '',
      stdout: (<Record<string, RegExp | RegExp[]>>{
        'ls -q': /^m1\nv0\n$/,
        ls: [/\nv0 +- +none +Running +tcp:\/\/127\.0\.0\.1:2376 /, M1_ROW],
        status: /^Running\n$/,
        inspect: /"ConfigVersion": 3,/,
        url: /^tcp:\/\/127\.0\.0\.1:2376\n$/,
        active: /^$/,
      })[args.length === 2 && args[0] === 'ls' ? 'ls -q' : args[0]],
    }),
  ),
];

if (process.getuid?.() === 0) {
  // Root reads a file of mode 000 anyway: the permission cases run as nobody.
  const skip = nobodyCannotRun();
  cases.push(
    {
      name: 'ls with one config.json that cannot be read (mode 000): the others are listed',
      setup: withUnreadable,
      asNobody: true,
      skip,
      args: ['ls'],
      code: 0,
      error: '',
      stdout: [
        /\nlocked +not found +Error +open \S+\/machines\/locked\/config\.json: permission denied\n/,
        M1_ROW,
      ],
    },
    {
      name: 'status of a config.json that cannot be read (mode 000)',
      setup: withUnreadable,
      asNobody: true,
      skip,
      args: ['status', 'locked'],
      code: 1,
      error: /^open \S+\/machines\/locked\/config\.json: permission denied$/,
    },
  );
}

describe('bad inputs about the store: one line, the exit code, the store unchanged', () => {
  badInputTests(cases);
});

describe('the store from any directory, names from older versions, readers that go away', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'dm-store-more-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('a relative -s or MACHINE_STORAGE_PATH is made absolute: env finds every file from any directory', async () => {
    const work = join(base, 'work');
    const elsewhere = join(base, 'elsewhere');
    await mkdir(work);
    await mkdir(elsewhere);
    const env = { XDG_CACHE_HOME: join(base, 'xdg') };
    const c1 = await runIn(work, ['-s', 'rel', 'create', '-d', 'none', '--url', URL_A, 'r1'], env, '', false);
    assert.equal(c1.code, 0, c1.stderr);
    const c2 = await runIn(
      work,
      ['create', '-d', 'none', '--url', URL_A, 'r2'],
      { ...env, MACHINE_STORAGE_PATH: 'rel' },
      '',
      false,
    );
    assert.equal(c2.code, 0, c2.stderr);
    const store = join(work, 'rel');
    for (const name of ['r1', 'r2']) {
      const config = JSON.parse(await readFile(join(store, 'machines', name, 'config.json'), 'utf8'));
      const auth = config.HostOptions.AuthOptions;
      for (const k of ['StorePath', 'CertDir', 'CaCertPath', 'ClientKeyPath', 'ServerCertPath']) {
        assert.ok(isAbsolute(auth[k]), `${name}: ${k} is ${auth[k]}`);
        assert.ok(auth[k].startsWith(store), `${name}: ${k} is ${auth[k]}`);
      }
      // From elsewhere, env finds every file and fails only because no engine answers at URL_A.
      const e = await runIn(elsewhere, ['-s', store, 'env', '--shell', 'bash', name], env, '', false);
      assert.equal(e.code, 1);
      assert.match(
        e.stderr,
        /error validating certificates for host "127\.0\.0\.1:1": dial tcp 127\.0\.0\.1:1: connect: connection refused/,
      );
    }
  });

  test('a machine an older version made with a 255-character name is listed and removed (rm -y, rm -f)', async () => {
    const dir = join(base, 'long');
    const store = new Store(dir);
    const names = ['a'.repeat(255), 'b'.repeat(251)];
    for (const n of names) await store.save(hostFor(dir, n));
    const env = { MACHINE_STORAGE_PATH: dir, XDG_CACHE_HOME: join(base, 'xdg') };
    const ls = await runIn(dir, ['ls', '-q'], env, '', false);
    assert.equal(ls.stdout, `${names.join('\n')}\n`);
    const y = await runIn(dir, ['rm', '-y', names[0]], env, '', false);
    assert.equal(y.code, 0, y.stderr);
    assert.match(y.stdout, new RegExp(`Successfully removed ${names[0]}\\n$`));
    const f = await runIn(dir, ['rm', '-f', names[1]], env, '', false);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stderr, '');
    assert.deepEqual(await readdir(join(dir, 'machines')), ['.locks']);
    assert.deepEqual(await readdir(join(dir, 'machines', '.locks')), [], 'every lock is released');
  });

  /**
   * The CLI with its stdout a pipe that this test closes once the first line has come: every
   * write after that meets EPIPE.
   */
  function closedAfterFirstLine(args: string[], env: NodeJS.ProcessEnv) {
    return new Promise<{ code: number | null; signal: string | null; first: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(cliProgram, [...cliArgs, ...args], {
          env: cleanEnv(env),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) child.stdout.destroy();
        });
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${args.join(' ')} did not end in 60 s: ${stderr}`));
        }, 60_000);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, first: out.slice(0, out.indexOf('\n')), stderr });
        });
      },
    );
  }

  test('create with stdout closed after its first line finishes the machine and exits 0', async () => {
    const dir = join(base, 'pipe-create');
    const env = { MACHINE_STORAGE_PATH: dir, XDG_CACHE_HOME: join(base, 'xdg') };
    const r = await closedAfterFirstLine(['create', '-d', 'none', '--url', URL_A, 'p1'], env);
    assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
    assert.equal(r.first, 'Creating CA: ' + join(dir, 'certs', 'ca.pem'));
    assert.doesNotMatch(r.stderr, /EPIPE|internal error/);
    // Everything a create makes is there: certificates, the client pair in the folder, the config.
    assert.deepEqual(await readdir(join(dir, 'certs')), ['ca-key.pem', 'ca.pem', 'cert.pem', 'key.pem']);
    assert.deepEqual(await readdir(join(dir, 'machines', 'p1')), [
      'ca.pem',
      'cert.pem',
      'config.json',
      'key.pem',
    ]);
    const ls = await runIn(dir, ['ls'], env, '', false);
    assert.match(ls.stdout, /\np1 +- +none +Running +tcp:\/\/127\.0\.0\.1:1 /);
  });

  test('ls over 150 machines with stdout closed after the first line exits 0 (json, a template)', async () => {
    const dir = join(base, 'pipe-ls');
    const store = new Store(dir);
    // Long labels make both outputs far larger than a pipe holds (64 KiB).
    const labels = Array.from({ length: 8 }, (_, i) => `label${i}=${'v'.repeat(60)}`);
    for (let i = 0; i < 150; i++) await store.save(hostFor(dir, `m${String(i).padStart(3, '0')}`, labels));
    const env = { MACHINE_STORAGE_PATH: dir, XDG_CACHE_HOME: join(base, 'xdg') };
    for (const args of [
      ['ls', '--format', 'json'],
      ['ls', '--format', '{{.Name}} {{.EngineOptions.Labels}}'],
    ]) {
      const r = await closedAfterFirstLine(args, env);
      assert.deepEqual([r.code, r.signal, r.stderr], [0, null, ''], args.join(' '));
      assert.ok(r.first.length > 0);
    }
  });
});

describe('a create killed at any step leaves nothing rm -y cannot remove (none, generic)', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'dm-killed-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** create, killed (SIGKILL) the moment `line` starts on its stdout; its whole stdout. */
  function createKilledAt(args: string[], env: NodeJS.ProcessEnv, line: string): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn(cliProgram, [...cliArgs, ...args], {
        env: cleanEnv(env),
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes(line)) child.kill('SIGKILL');
      });
      const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', () => {
        clearTimeout(bound);
        resolve(out);
      });
    });
  }

  // Each driver's progress lines, in order; the generic machine's SSH port is closed, so its
  // create would wait there (and fail after --wait-timeout): every step before is one to kill at.
  const drivers: { driver: string; flags: (dir: string) => string[]; lines: string[] }[] = [
    {
      driver: 'none',
      flags: () => ['--url', URL_A],
      lines: [
        'Creating CA: ',
        'Creating client certificate: ',
        'Running pre-create checks...',
        'Creating machine...',
        'Warning: the engine',
      ],
    },
    {
      driver: 'generic',
      flags: (dir) => [
        '--generic-ip-address',
        '127.0.0.1',
        '--generic-ssh-port',
        '1',
        '--generic-ssh-key',
        join(dir, 'id'),
        '--wait-timeout',
        '5',
      ],
      lines: [
        'Creating CA: ',
        'Creating client certificate: ',
        'Running pre-create checks...',
        'Creating machine...',
        '(k) Importing SSH key...',
        'Waiting for machine to be running',
      ],
    },
  ];

  for (const d of drivers) {
    test(`${d.driver}: killed at each progress line, then rm -y`, async () => {
      for (const line of d.lines) {
        const dir = await mkdtemp(join(base, `${d.driver}-`));
        await writeFile(
          join(dir, 'id'),
          '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n',
          {
            mode: 0o600,
          },
        );
        const env = { MACHINE_STORAGE_PATH: dir, XDG_CACHE_HOME: join(base, 'xdg') };
        const out = await createKilledAt(['create', '-d', d.driver, ...d.flags(dir), 'k'], env, line);
        assert.ok(out.includes(line), `the create reached "${line}": ${out}`);
        const claimed = (await readdir(join(dir, 'machines')).catch((): string[] => [])).includes('k');
        const r = await runIn(dir, ['rm', '-y', 'k'], env, '', false);
        if (claimed) assert.deepEqual([r.code, r.stderr], [0, ''], `killed at "${line}"`);
        else assert.match(r.stderr, /Docker machine "k" does not exist/, `killed at "${line}"`);
        const left = (await readdir(join(dir, 'machines')).catch((): string[] => [])).filter(
          (n) => !n.startsWith('.'),
        );
        assert.deepEqual(left, [], `killed at "${line}": nothing is left`);
      }
    });
  }
});
