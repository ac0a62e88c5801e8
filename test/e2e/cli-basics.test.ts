import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, runCLI, tempStore } from '../helpers/cli.js';

// Everything here runs the real bundle through bin/docker-machine against a scratch store. No
// engine answers at these URLs (port 1 on loopback is closed), which is what these cases need.
const URL_A = 'tcp://127.0.0.1:1';

describe('CLI without an engine', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => {
    await s.cleanup();
  });

  test('--version and version', async () => {
    const r = await s.run(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^docker-machine version \d+\.\d+\.\d+\S*, build \S+\n$/);
    const v = await s.run(['version']);
    assert.equal(v.stdout, r.stdout);
  });

  test('app help lists the commands of this release and nothing else', async () => {
    const r = await s.run([]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /^Usage: docker-machine \[OPTIONS\] COMMAND \[arg\.\.\.\]\n\nCreate and manage machines running Docker\./,
    );
    for (const c of [
      'active',
      'config',
      'create',
      'env',
      'inspect',
      'ip',
      'ls',
      'rm',
      'status',
      'url',
      'version',
      'help',
    ]) {
      assert.match(r.stdout, new RegExp(`\\n  ${c}\\t+\\S`), `help lists ${c}`);
    }
    assert.match(r.stdout, /--storage-path, -s "[^"]+"\t+Configures storage path \[\$MACHINE_STORAGE_PATH\]/);
    const h = await s.run(['--help']);
    assert.equal(h.stdout, r.stdout);
    assert.equal((await s.run(['help'])).stdout, r.stdout);
  });

  test('command help, as -h, --help and help CMD', async () => {
    const r = await s.run(['ls', '--help']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      'Usage: docker-machine ls [OPTIONS] [arg...]\n\nList machines\n\nOptions:\n   \n' +
        '   --quiet, -q\t\t\t\t\tEnable quiet mode\n' +
        '   --filter [--filter option --filter option]\tFilter output based on conditions provided\n' +
        '   --timeout, -t "10"\t\t\t\tTimeout in seconds, default to 10s\n' +
        "   --format, -f \t\t\t\tPretty-print machines using a Go template, or 'json' for one JSON object per line\n",
    );
    assert.equal((await s.run(['ls', '-h'])).stdout, r.stdout);
    assert.equal((await s.run(['help', 'ls'])).stdout, r.stdout);
  });

  test('create -d none --help lists the driver flag with the shared ones', async () => {
    const r = await s.run(['create', '-d', 'none', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--url \t+URL of host when no driver is selected/);
    assert.match(
      r.stdout,
      /--engine-install-url "https:\/\/get\.docker\.com"\t+Custom URL to use for engine installation \[\$MACHINE_DOCKER_INSTALL_URL\]/,
    );
    // The Drivers block, read line by line: a pattern of nested repeats over it backtracks for
    // ever once the list is long.
    const block = r.stdout.split('Drivers:\n')[1]?.split('\n\n')[0] ?? '';
    const rows = new Map(block.split('\n').map((l) => [l.trim().split(/\s+/)[0], l.trim()] as const));
    assert.match(rows.get('docker') ?? '', /^docker\s+a container on a local Docker engine/);
    assert.match(rows.get('generic') ?? '', /^generic\s+an existing Linux server/);
    assert.match(rows.get('none') ?? '', /^none\s+an existing Docker engine/);
    const names = [...rows.keys()];
    assert.deepEqual(names, [...names].sort(), 'drivers listed by name');
  });

  test('unknown command and unknown flag: one clear line on stderr, exit 1', async () => {
    const c = await s.run(['bogus']);
    assert.equal(c.code, 1);
    assert.equal(c.stdout, '');
    assert.equal(
      c.stderr,
      "docker-machine: 'bogus' is not a docker-machine command. See 'docker-machine --help'.\n",
    );
    const f = await s.run(['ls', '--bogus']);
    assert.equal(f.code, 1);
    assert.equal(f.stdout, '');
    assert.equal(
      f.stderr,
      "Incorrect Usage: flag provided but not defined: -bogus. See 'docker-machine ls --help'.\n",
    );
    const g = await s.run(['--bogus', 'ls']);
    assert.equal(g.code, 1);
    assert.match(
      g.stderr,
      /^Incorrect Usage: flag provided but not defined: -bogus\. See 'docker-machine --help'\.\n$/,
    );
    const t = await s.run(['ls', '-t', 'abc']);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /invalid value "abc" for flag -t/);
  });

  test('create -d none: output, store files and modes', async () => {
    const r = await s.run(['create', '-d', 'none', '--url', URL_A, '--engine-label', 'team=a', 'm1']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `Creating CA: ${join(s.dir, 'certs', 'ca.pem')}`);
    assert.equal(lines[1], `Creating client certificate: ${join(s.dir, 'certs', 'cert.pem')}`);
    assert.equal(lines[2], 'Running pre-create checks...');
    assert.equal(lines[3], 'Creating machine...');
    assert.match(r.stdout, /Warning: the engine at tcp:\/\/127\.0\.0\.1:1 does not answer yet/);
    assert.match(
      r.stdout,
      /To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env m1\n$/,
    );
    const dir = join(s.dir, 'machines', 'm1');
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.ConfigVersion, 3);
    assert.equal(cfg.DriverName, 'none');
    assert.equal(cfg.Name, 'm1');
    assert.deepEqual(Object.keys(cfg.Driver), [
      'IPAddress',
      'MachineName',
      'SSHUser',
      'SSHPort',
      'SSHKeyPath',
      'StorePath',
      'SwarmMaster',
      'SwarmHost',
      'SwarmDiscovery',
      'URL',
    ]);
    assert.equal(cfg.Driver.IPAddress, '127.0.0.1:1');
    assert.equal(cfg.Driver.StorePath, s.dir);
    assert.deepEqual(cfg.HostOptions.EngineOptions.Labels, ['team=a']);
    assert.equal(cfg.HostOptions.EngineOptions.InstallURL, 'https://get.docker.com');
    assert.equal(cfg.HostOptions.SwarmOptions.Host, 'tcp://0.0.0.0:3376');
    assert.equal(cfg.HostOptions.AuthOptions.StorePath, dir);
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(s.dir, 'certs'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(s.dir, 'certs', 'ca-key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(s.dir, 'certs', 'key.pem'))).mode & 0o777, 0o600);
    // docker reads the client certs from the machine folder (DOCKER_CERT_PATH).
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
      assert.deepEqual(await readFile(join(dir, f)), await readFile(join(s.dir, 'certs', f)));
    }
    assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600);
    // config.json ends without a newline, as Go's MarshalIndent writes it.
    const raw = await readFile(join(dir, 'config.json'), 'utf8');
    assert.ok(raw.startsWith('{\n    "ConfigVersion": 3,\n    "Driver": {\n        "IPAddress"'));
    assert.ok(raw.endsWith('\n    "Name": "m1"\n}'));
  });

  test('create errors: no name, bad name, taken name, missing --url, unknown driver, extra args', async () => {
    const noName = await s.run(['create', '-d', 'none', '--url', URL_A]);
    assert.equal(noName.code, 1);
    assert.match(noName.stdout, /^Usage: docker-machine create/);
    assert.equal(noName.stderr, 'Error: No machine name specified\n');

    const bad = await s.run(['create', '-d', 'none', '--url', URL_A, 'bad_name']);
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n',
    );
    const taken = await s.run(['create', '-d', 'none', '--url', URL_A, 'm1']);
    assert.equal(taken.code, 1);
    assert.equal(taken.stderr, 'Docker machine "m1" already exists\n');
    const noUrl = await s.run(['create', '-d', 'none', 'm9']);
    assert.equal(noUrl.code, 1);
    assert.equal(
      noUrl.stderr,
      'Error setting machine configuration from flags provided: --url option is required when no driver is selected\n',
    );
    const unknown = await s.run(['create', '-d', 'bogus', 'm9']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^Driver "bogus" not found\. Available drivers: .*none/);
    // Several names are a fleet (docs/compatibility.md); a name given twice makes none of them.
    const twice = await s.run(['create', '-d', 'none', '--url', URL_A, 'a', 'b', 'a']);
    assert.equal(twice.code, 1);
    assert.equal(twice.stderr, 'a: the name is given more than once\nNo machine was created.\n');
    const names = await readdir(join(s.dir, 'machines'));
    assert.deepEqual(
      names.filter((n) => !n.startsWith('.')),
      ['m1'],
    );
  });

  test('url, ip, status, inspect of a none machine', async () => {
    assert.deepEqual(await s.run(['url', 'm1']), { code: 0, stdout: `${URL_A}\n`, stderr: '' });
    assert.deepEqual(await s.run(['ip', 'm1']), { code: 0, stdout: '127.0.0.1:1\n', stderr: '' });
    assert.deepEqual(await s.run(['status', 'm1']), { code: 0, stdout: 'Running\n', stderr: '' });
    const raw = await readFile(join(s.dir, 'machines', 'm1', 'config.json'), 'utf8');
    assert.deepEqual(await s.run(['inspect', 'm1']), { code: 0, stdout: `${raw}\n`, stderr: '' });
    assert.equal((await s.run(['inspect', '-f', '{{.DriverName}}', 'm1'])).stdout, 'none\n');
    assert.equal((await s.run(['inspect', '--format', '{{json .DriverName}}', 'm1'])).stdout, '"none"\n');
    assert.equal((await s.run(['inspect', '-f', '{{.Nope.Nope}}', 'm1'])).stdout, '<no value>\n');
    assert.equal((await s.run(['inspect', '-f', '{{.Driver.SSHPort}}', 'm1'])).stdout, '0\n');
    const j = await s.run(['inspect', '-f', '{{json .Driver}}', 'm1']);
    assert.equal(
      j.stdout,
      `{"IPAddress":"127.0.0.1:1","MachineName":"m1","SSHKeyPath":"","SSHPort":0,"SSHUser":"","StorePath":${JSON.stringify(s.dir)},"SwarmDiscovery":"","SwarmHost":"","SwarmMaster":false,"URL":"${URL_A}"}\n`,
    );
    const bad = await s.run(['inspect', '-f', '{{.DriverName', 'm1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^template parsing error: template: :1: unclosed action\n$/);
  });

  test('not-existing machines and the default machine rule', async () => {
    const r = await s.run(['url', 'nope']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Docker machine "nope" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.\n',
    );
    const noDefault = await s.run(['url']);
    assert.equal(noDefault.code, 1);
    assert.equal(noDefault.stderr, 'Error: No machine name(s) specified and no "default" machine exists\n');
    assert.equal((await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:2', 'default'])).code, 0);
    assert.equal((await s.run(['url'])).stdout, 'tcp://127.0.0.1:2\n');
    assert.equal((await s.run(['ip'])).stdout, '127.0.0.1:2\n');
    const two = await s.run(['ip', 'nope1', 'nope2']);
    assert.equal(two.code, 1);
    assert.equal(two.stdout, '');
    assert.match(two.stderr, /"nope1" does not exist.*\n.*"nope2" does not exist/);
    assert.equal((await s.run(['ip', 'm1', 'default'])).stdout, '127.0.0.1:1\n127.0.0.1:2\n');
    const many = await s.run(['url', 'm1', 'default']);
    assert.equal(many.stderr, 'Error: Expected one machine name as an argument\n');
  });

  test('ls: table, -q, filters, formats, errors', async () => {
    const r = await s.run(['ls']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NAME {6}ACTIVE {3}DRIVER {3}STATE {5}URL {17}SWARM {3}DOCKER {4}ERRORS$/);
    assert.match(
      lines[1],
      /^default {3}- {8}none {5}Running {3}tcp:\/\/127\.0\.0\.1:2 {3}\s+Unknown {3}Unable to query docker version: Cannot connect to the docker engine endpoint/,
    );
    assert.match(lines[2], /^m1 {8}- {8}none/);
    assert.equal((await s.run(['ls', '-q'])).stdout, 'default\nm1\n');
    assert.equal((await s.run(['ls', '-q', '--filter', 'name=^m'])).stdout, 'm1\n');
    assert.equal((await s.run(['ls', '-q', '--filter', 'label=team=A'])).stdout, 'm1\n');
    assert.equal(
      (await s.run(['ls', '-q', '--filter', 'driver=NONE', '--filter', 'state=running'])).stdout,
      'default\nm1\n',
    );
    assert.equal((await s.run(['ls', '-q', '--filter', 'state=Stopped'])).stdout, '');
    assert.equal(
      (await s.run(['ls', '--format', '{{.Name}}: {{.DriverName}}'])).stdout,
      'default: none\nm1: none\n',
    );
    assert.equal(
      (await s.run(['ls', '--format', 'table {{.Name}}\\t{{.ActiveHost}}'])).stdout,
      'NAME      ACTIVE_HOST\ndefault   false\nm1        false\n',
    );
    const json = (await s.run(['ls', '--format', 'json'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      json.map((o) => [o.Name, o.State, o.URL]),
      [
        ['default', 'Running', 'tcp://127.0.0.1:2'],
        ['m1', 'Running', URL_A],
      ],
    );
    const badFilter = await s.run(['ls', '--filter', 'nope']);
    assert.deepEqual([badFilter.code, badFilter.stderr], [1, 'Unsupported filter syntax\n']);
    const badKey = await s.run(['ls', '--filter', 'color=red']);
    assert.deepEqual([badKey.code, badKey.stderr], [1, "Unsupported filter key 'color'\n"]);
    const badTpl = await s.run(['ls', '--format', '{{.Name']);
    assert.equal(badTpl.code, 1);
    // The newline ls appends puts the end on line 2, as in the original (spec §2.9).
    assert.equal(badTpl.stderr, 'template: :2: unclosed action started at :1\n');
    const badField = await s.run(['ls', '--format', '{{.Nope}}']);
    assert.equal(badField.code, 1);
    assert.match(badField.stderr, /can't evaluate field Nope/);
    const t0 = await s.run(['ls', '-t', '0']);
    assert.match(t0.stdout, /\ndefault\s+none\s+Timeout\s*\n/);
  });

  test('active follows DOCKER_HOST', async () => {
    const none = await s.run(['active']);
    assert.deepEqual([none.code, none.stderr], [1, 'No active host found\n']);
    const r = await s.run(['active'], { env: { DOCKER_HOST: URL_A } });
    assert.deepEqual([r.code, r.stdout], [0, 'm1\n']);
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.Active}}'], { env: { DOCKER_HOST: URL_A } });
    assert.equal(ls.stdout, 'default -\nm1 *\n');
    assert.equal((await s.run(['active', 'x'])).stderr, 'Error: Too many arguments given\n');
  });

  test('env -u for every shell', async () => {
    const bash = await s.run(['env', '-u']);
    assert.equal(
      bash.stdout,
      'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n' +
        '# Run this command to configure your shell: \n# eval $(docker-machine env -u)\n',
    );
    const fish = await s.run(['env', '-u', '--shell', 'fish', '--no-proxy']);
    assert.equal(
      fish.stdout,
      'set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\nset -e DOCKER_CERT_PATH;\nset -e DOCKER_MACHINE_NAME;\nset -e NO_PROXY;\n' +
        '# Run this command to configure your shell: \n# eval (docker-machine env -u --shell fish --no-proxy)\n',
    );
    // The original glued the current value to the name (`unset NO_PROXYa,b`); we do not.
    const glued = await s.run(['env', '-u', '--no-proxy'], { env: { NO_PROXY: 'a,b' } });
    assert.match(glued.stdout, /\nunset NO_PROXY\n/);
    const withName = await s.run(['env', '-u', 'm1']);
    assert.deepEqual(
      [withName.code, withName.stderr],
      [1, 'Error: Expected no machine name when the -u flag is present\n'],
    );
  });

  test('env and config fail clearly when the engine does not answer', async () => {
    const e = await s.run(['env', 'm1']);
    assert.equal(e.code, 1);
    assert.equal(e.stdout, '');
    assert.match(
      e.stderr,
      /^Error checking TLS connection: Error checking and\/or regenerating the certs: There was an error validating certificates for host "127\.0\.0\.1:1": dial tcp 127\.0\.0\.1:1: connect: connection refused\n/,
    );
    assert.match(e.stderr, /regenerate-certs/);
    const c = await s.run(['config', 'm1']);
    assert.equal(c.code, 1);
    assert.match(
      c.stderr,
      /^Error running connection boilerplate: Error checking and\/or regenerating the certs/,
    );
    const sw = await s.run(['config', '--swarm', 'm1']);
    assert.match(
      sw.stderr,
      /"m1" is not a swarm master\. The --swarm flag is intended for use with swarm masters/,
    );
  });

  test('a corrupt config shows an error row and never hides the others; rm -f removes it', async () => {
    const dir = join(s.dir, 'machines', 'broken');
    assert.equal((await s.run(['create', '-d', 'none', '--url', URL_A, 'broken'])).code, 0);
    await writeFile(join(dir, 'config.json'), '{"ConfigVersion": 3, nope');
    const ls = await s.run(['ls']);
    assert.equal(ls.code, 0);
    assert.match(ls.stdout, /\nbroken\s+not found\s+Error\s+Error getting migrated host: /);
    assert.match(ls.stdout, /\nm1\s+-\s+none\s+Running/);
    assert.equal((await s.run(['ls', '-q'])).stdout, 'default\nm1\n');
    const rm = await s.run(['rm', '-y', 'broken']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /^Error removing host "broken": Error getting migrated host: /);
    assert.ok((await readdir(join(s.dir, 'machines'))).includes('broken'), 'rm without -f keeps it');
    const rmf = await s.run(['rm', '-f', 'broken']);
    assert.equal(rmf.code, 0);
    assert.match(rmf.stdout, /Successfully removed broken\n$/);
    assert.ok(!(await readdir(join(s.dir, 'machines'))).includes('broken'));
  });

  test('rm: prompt, -y, -f, errors', async () => {
    assert.equal((await s.run(['create', '-d', 'none', '--url', URL_A, 'r1'])).code, 0);
    // No answer at all (stdin at its end) is not a no: rm says it needs one (the original exited 0).
    const noAnswer = await s.run(['rm', 'r1']);
    assert.equal(noAnswer.code, 1);
    assert.equal(
      noAnswer.stdout,
      'About to remove r1\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): \n',
    );
    assert.match(noAnswer.stderr, /^Error: rm needs a confirmation .* use -y .*\n$/);
    const no = await s.run(['rm', 'r1'], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.ok((await readdir(join(s.dir, 'machines'))).includes('r1'));
    const yes = await s.run(['rm', 'r1'], { input: 'y\n' });
    assert.equal(yes.code, 0);
    assert.match(yes.stdout, /Are you sure\? \(y\/n\): Successfully removed r1\n$/);
    assert.ok(!(await readdir(join(s.dir, 'machines'))).includes('r1'));

    const missing = await s.run(['rm', '-y', 'nonexist']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^Error removing host "nonexist": Docker machine "nonexist" does not exist\./,
    );
    const forced = await s.run(['rm', '-f', 'nonexist']);
    assert.equal(forced.code, 0);
    assert.match(forced.stderr, /Error removing host "nonexist": .*\nCan't remove "nonexist"\n$/);
    const none = await s.run(['rm']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'Error: Expected to get one or more machine names as arguments\n');
  });

  test('create stores every shared create flag in config.json, and env vars fill them', async () => {
    const r = await s.run(
      [
        'create',
        '-d',
        'none',
        '--url',
        URL_A,
        '--engine-opt',
        'log-driver=none',
        '--engine-env',
        'A=B',
        '--engine-env',
        'C=has space',
        '--engine-insecure-registry',
        'r.example',
        '--engine-label',
        'x=y',
        '--engine-storage-driver',
        'overlay2',
        '--engine-install-url',
        'http://mirror.example/install.sh',
        '--swarm-master',
        '--swarm-discovery',
        'token://abc',
        '--swarm-opt',
        'a=b',
        '--swarm-join-opt',
        'c=d',
        '--swarm-addr',
        '10.0.0.1:2376',
        '--swarm-experimental',
        '--tls-san',
        'foo.tld',
        '--tls-san',
        '10.9.9.9',
        'flags',
      ],
      {
        env: {
          ENGINE_REGISTRY_MIRROR: 'https://m1.example, https://m2.example',
          MACHINE_SWARM_IMAGE: 'swarm:1.2',
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const h = JSON.parse(await readFile(join(s.dir, 'machines', 'flags', 'config.json'), 'utf8')).HostOptions;
    assert.deepEqual(h.EngineOptions, {
      ArbitraryFlags: ['log-driver=none'],
      Dns: null,
      GraphDir: '',
      Env: ['A=B', 'C=has space'],
      Ipv6: false,
      InsecureRegistry: ['r.example'],
      Labels: ['x=y'],
      LogLevel: '',
      StorageDriver: 'overlay2',
      SelinuxEnabled: false,
      TlsVerify: true,
      RegistryMirror: ['https://m1.example', 'https://m2.example'],
      InstallURL: 'http://mirror.example/install.sh',
    });
    assert.deepEqual(h.SwarmOptions, {
      IsSwarm: true,
      Address: '10.0.0.1:2376',
      Discovery: 'token://abc',
      Agent: false,
      Master: true,
      Host: 'tcp://0.0.0.0:3376',
      Image: 'swarm:1.2',
      Strategy: 'spread',
      Heartbeat: 0,
      Overcommit: 0,
      ArbitraryFlags: ['a=b'],
      ArbitraryJoinFlags: ['c=d'],
      Env: null,
      IsExperimental: true,
    });
    assert.deepEqual(h.AuthOptions.ServerCertSANs, ['foo.tld', '10.9.9.9']);
    const bad = await s.run(['create', '-d', 'none', '--url', URL_A, '--swarm-discovery', 'nourl', 'flags2']);
    assert.equal(
      bad.stderr,
      'Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: nourl\n',
    );
    assert.equal((await s.run(['rm', '-y', 'flags'])).code, 0);
  });

  test('a store written by the original is read as it is', async () => {
    const dir = join(s.dir, 'machines', 'legacy');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true, mode: 0o700 }));
    const original = `{
    "ConfigVersion": 3,
    "Driver": {
        "IPAddress": "127.0.0.1:2376",
        "MachineName": "legacy",
        "SSHUser": "",
        "SSHPort": 0,
        "SSHKeyPath": "",
        "StorePath": ${JSON.stringify(s.dir)},
        "SwarmMaster": false,
        "SwarmHost": "",
        "SwarmDiscovery": "",
        "URL": "tcp://127.0.0.1:2376"
    },
    "DriverName": "none",
    "HostOptions": {
        "Driver": "",
        "Memory": 0,
        "Disk": 0,
        "EngineOptions": {
            "ArbitraryFlags": [],
            "Dns": null,
            "GraphDir": "",
            "Env": [],
            "Ipv6": false,
            "InsecureRegistry": [],
            "Labels": [],
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": true,
            "RegistryMirror": [],
            "InstallURL": "https://get.docker.com"
        },
        "SwarmOptions": {
            "IsSwarm": false,
            "Address": "",
            "Discovery": "",
            "Agent": false,
            "Master": false,
            "Host": "tcp://0.0.0.0:3376",
            "Image": "swarm:latest",
            "Strategy": "spread",
            "Heartbeat": 0,
            "Overcommit": 0,
            "ArbitraryFlags": [],
            "ArbitraryJoinFlags": [],
            "Env": null,
            "IsExperimental": false
        },
        "AuthOptions": {
            "CertDir": ${JSON.stringify(join(s.dir, 'certs'))},
            "CaCertPath": ${JSON.stringify(join(s.dir, 'certs', 'ca.pem'))},
            "CaPrivateKeyPath": ${JSON.stringify(join(s.dir, 'certs', 'ca-key.pem'))},
            "CaCertRemotePath": "",
            "ServerCertPath": ${JSON.stringify(join(dir, 'server.pem'))},
            "ServerKeyPath": ${JSON.stringify(join(dir, 'server-key.pem'))},
            "ClientKeyPath": ${JSON.stringify(join(s.dir, 'certs', 'key.pem'))},
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": ${JSON.stringify(join(s.dir, 'certs', 'cert.pem'))},
            "ServerCertSANs": [],
            "StorePath": ${JSON.stringify(dir)}
        }
    },
    "Name": "legacy"
}`;
    await writeFile(join(dir, 'config.json'), original, { mode: 0o600 });
    const r = await s.run(['inspect', 'legacy']);
    assert.equal(r.stdout, `${original}\n`, 'inspect prints the same bytes the original wrote');
    assert.equal((await s.run(['url', 'legacy'])).stdout, 'tcp://127.0.0.1:2376\n');
    assert.equal((await s.run(['rm', '-y', 'legacy'])).code, 0);
  });
});

test('-D and MACHINE_DEBUG', async () => {
  const bad = await runCLI(['ls'], { env: { MACHINE_DEBUG: 'maybe' } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error parsing boolean value from MACHINE_DEBUG/);
});
