import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, repoRoot, tempStore } from '../helpers/cli.js';
import { type FakeDistro, type RecordingHost, startRecordingHost } from '../helpers/recording-sshd.js';
import { sshdAvailable } from '../helpers/sshd.js';

// Distributions that cannot boot here, provisioned for real over SSH: a real OpenSSH sshd whose
// ForceCommand logs each command and answers it as that distribution would (spec Appendix A),
// and a TLS engine that answers once docker was restarted, with the certificates the
// provisioner uploaded. The full ordered command sequence of each distribution is asserted.
const skip = sshdAvailable() ? false : 'needs root and /usr/sbin/sshd';

const osRelease = (name: string) => readFile(join(repoRoot, 'test', 'fixtures', 'os-release', name), 'utf8');

/** The engine options of the spec's captures (§5.3). */
const ENGINE_FLAGS = [
  '--engine-label',
  'spam=eggs',
  '--engine-insecure-registry',
  'registry.myco.com',
  '--engine-registry-mirror',
  'https://mirror.example',
  '--engine-opt',
  'log-driver=none',
  '--engine-env',
  'TEST=VALUE',
  '--engine-env',
  'B=has space',
];

// The first command that answers reads the OS too.
const START = ['cat /etc/os-release'];
const hostname = (n: string) => [
  `hostname ${n} && echo "${n}" | tee /etc/hostname >/dev/null`,
  `if ! grep -xq '.*\\s${n}' /etc/hosts; then if grep -xq '127.0.1.1\\s.*' /etc/hosts; then sed 's/^127.0.1.1\\s.*/127.0.1.1 ${n}/g' /etc/hosts > /tmp/docker-machine-hosts && tee /etc/hosts < /tmp/docker-machine-hosts >/dev/null && rm -f /tmp/docker-machine-hosts; else echo '127.0.1.1 ${n}' | tee -a /etc/hosts >/dev/null; fi; fi`,
];
const SCRIPT = [
  "command -v curl >/dev/null && curl -fsSL --max-time 60 -o /tmp/docker-machine-install.sh 'https://get.docker.com' && sh /tmp/docker-machine-install.sh",
  'rm -f /tmp/docker-machine-install.sh',
];
const HAS_DOCKERD = 'command -v dockerd >/dev/null || test -x /usr/bin/dockerd || test -x /usr/sbin/dockerd';
const FIND_DOCKERD = 'command -v dockerd || ls /usr/bin/dockerd /usr/sbin/dockerd 2>/dev/null | head -n 1';
// An array is one round trip: the steps of one batch (src/provision/batch.ts).
const certs = (dir = '/etc/docker') => [
  `mkdir -p ${dir}`,
  `sh -c 'umask 022 && cat > ${dir}/ca.pem'`,
  `sh -c 'umask 022 && cat > ${dir}/server.pem'`,
  `sh -c 'umask 077 && cat > ${dir}/server-key.pem'`,
];
/** What the drop-in depends on, and whether systemd has the machine's drop-in loaded. */
/** Whether systemd runs docker.service with the files on disk. */
const LOADED_STATE = [
  'systemctl show -p NeedDaemonReload -p DropInPaths docker',
  'ls -1d /etc/systemd/system/docker.service.d/*.conf /run/systemd/system/docker.service.d/*.conf /usr/local/lib/systemd/system/docker.service.d/*.conf /usr/lib/systemd/system/docker.service.d/*.conf /lib/systemd/system/docker.service.d/*.conf 2>/dev/null',
];
const DAEMON_FACTS = [
  FIND_DOCKERD,
  'systemctl cat docker.socket >/dev/null 2>&1',
  'cat /etc/systemd/system/docker.service.d/10-machine.conf',
  ...LOADED_STATE,
];
/** The round trip that sets the hostname and reads what the rest depends on. */
const probe = (n: string) => [...hostname(n), 'dockerd --version', ...DAEMON_FACTS];
const DROP_IN_WRITE =
  'mkdir -p /etc/systemd/system/docker.service.d && tee /etc/systemd/system/docker.service.d/10-machine.conf >/dev/null';
const DROP_IN = '/etc/systemd/system/docker.service.d/10-machine.conf';
const ENABLE =
  'systemctl is-enabled -q docker 2>/dev/null || systemctl enable docker >/dev/null 2>&1 || true';
const firewalld = (port: number) =>
  `if systemctl is-active -q firewalld 2>/dev/null; then firewall-cmd -q --permanent --add-port=${port}/tcp && firewall-cmd -q --reload; fi`;
const RESTART = 'systemctl daemon-reload && systemctl stop docker && systemctl start docker';
/** The drop-in on the machine is the one systemd runs with: no daemon-reload, whose reset of the start limit reset-failed does. */
const RESTART_NO_RELOAD = 'systemctl stop docker && systemctl reset-failed docker && systemctl start docker';

const dropIn = (dockerd: string, socket: boolean, port: number) =>
  '[Service]\nExecStart=\n' +
  `ExecStart=${dockerd} -H ${socket ? 'fd://' : 'unix:///var/run/docker.sock'} -H tcp://0.0.0.0:${port} --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --live-restore --label spam=eggs --label provider=generic --insecure-registry registry.myco.com --registry-mirror https://mirror.example --log-driver=none\n` +
  'Environment="TEST=VALUE" "B=has space"\n';

/** A distribution whose engine is installed by create. */
interface InstallCase {
  fixture: string;
  provisioner: string;
  /** The commands between `dockerd --version` and the certificate upload. */
  install: string[];
  /** The printed line when the default install script was tried first. */
  scriptTried: boolean;
  engine: { version: string; path: string; owner: string };
  socket: boolean;
  firewalld: boolean;
  /** Through the built-in SSH client (--native-ssh) instead of the system's ssh. */
  native?: boolean;
}

/** What upgrading the engine package gives on every fake host. */
const UPGRADED = '27.1.1';

const SCRIPT_FAILED =
  "The install script at https://get.docker.com did not run (curl: (7) Failed to connect to the install URL); trying the distribution's packages";

const installCases: InstallCase[] = [
  {
    fixture: 'ubuntu-22.04',
    provisioner: 'ubuntu(systemd)',
    install: [
      ...SCRIPT,
      "env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q && apt-get install -y -q docker.io'",
    ],
    scriptTried: true,
    engine: { version: '24.0.7', path: '/usr/sbin/dockerd', owner: 'docker.io: /usr/sbin/dockerd' },
    socket: true,
    firewalld: false,
  },
  {
    fixture: 'centos-7',
    provisioner: 'centos',
    install: [...SCRIPT, 'yum install -y docker'],
    scriptTried: true,
    engine: { version: '1.13.1', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: false,
    firewalld: true,
  },
  {
    fixture: 'fedora-39',
    native: true,
    provisioner: 'fedora',
    install: [...SCRIPT, 'dnf install -y moby-engine'],
    scriptTried: true,
    engine: { version: '24.0.5', path: '/usr/bin/dockerd', owner: 'moby-engine' },
    socket: true,
    firewalld: true,
  },
  {
    fixture: 'rhel-9',
    provisioner: 'redhat',
    install: [...SCRIPT, 'dnf install -y docker-ce'],
    scriptTried: true,
    engine: { version: '25.0.3', path: '/usr/bin/dockerd', owner: 'docker-ce' },
    socket: true,
    firewalld: true,
  },
  {
    // get.docker.com refuses Rocky, Alma and Oracle Linux: the default script is not tried.
    fixture: 'rocky-9',
    provisioner: 'rocky',
    install: ['dnf install -y docker-ce'],
    scriptTried: false,
    engine: { version: '25.0.3', path: '/usr/bin/dockerd', owner: 'docker-ce' },
    socket: true,
    firewalld: true,
  },
  {
    fixture: 'almalinux-9',
    provisioner: 'almalinux',
    install: ['dnf install -y docker-ce'],
    scriptTried: false,
    engine: { version: '25.0.3', path: '/usr/bin/dockerd', owner: 'docker-ce' },
    socket: true,
    firewalld: true,
  },
  {
    fixture: 'ol-8',
    provisioner: 'ol',
    install: ['dnf install -y docker-ce'],
    scriptTried: false,
    engine: { version: '25.0.3', path: '/usr/bin/dockerd', owner: 'docker-ce' },
    socket: true,
    firewalld: true,
  },
  {
    fixture: 'amzn-2023',
    provisioner: 'amazon',
    install: ['dnf install -y docker'],
    scriptTried: false,
    engine: { version: '24.0.5', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: true,
    firewalld: false,
  },
  {
    fixture: 'amzn-2',
    native: true,
    provisioner: 'amazon',
    install: ['yum install -y docker'],
    scriptTried: false,
    engine: { version: '20.10.25', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: true,
    firewalld: false,
  },
  {
    // As the original (§5.3.5): zypper, the install URL not used.
    fixture: 'opensuse-leap-15.5',
    provisioner: 'SUSE',
    install: ['zypper -n in docker'],
    scriptTried: false,
    engine: { version: '24.0.7-ce', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: false,
    firewalld: true,
  },
  {
    // SLES: the containers module first (the original's SUSEConnect, for the release it runs).
    fixture: 'sles-15.5',
    native: true,
    provisioner: 'SUSE',
    install: ['SUSEConnect -p sle-module-containers/15.5/$(uname -m)', 'zypper -n in docker'],
    scriptTried: false,
    engine: { version: '24.0.7-ce', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: false,
    firewalld: true,
  },
  {
    // The original's pacman command (§5.3.6), without sudo for root.
    fixture: 'arch',
    provisioner: 'arch',
    install: ['pacman -Sy --noconfirm --noprogressbar docker'],
    scriptTried: false,
    engine: { version: '24.0.7', path: '/usr/bin/dockerd', owner: 'docker' },
    socket: true,
    firewalld: false,
  },
];

describe('provisioning every distribution over SSH (recording sshd)', { skip, timeout: 15 * 60_000 }, () => {
  let s: CliStore;
  const hosts: RecordingHost[] = [];
  /** Machines the install cases made, by fixture, for the upgrade test. */
  const created = new Map<string, { host: RecordingHost; name: string }>();

  before(async () => {
    s = await tempStore();
  });

  after(async () => {
    for (const h of hosts) await h.stop();
    await s?.cleanup();
  });

  async function fakeHost(fixture: string, distro: Omit<FakeDistro, 'osRelease'>): Promise<RecordingHost> {
    const h = await startRecordingHost({ osRelease: await osRelease(fixture), ...distro });
    hosts.push(h);
    return h;
  }

  const create = (
    h: RecordingHost,
    name: string,
    extra: string[] = [],
    env: NodeJS.ProcessEnv = {},
    globals: string[] = [],
  ) =>
    s.run(
      [
        ...globals,
        'create',
        '-d',
        'generic',
        '--generic-ip-address',
        '127.0.0.1',
        '--generic-ssh-port',
        String(h.sshd.port),
        '--generic-ssh-key',
        h.sshd.keyPath,
        '--generic-engine-port',
        String(h.enginePort),
        '--wait-timeout',
        '20',
        ...extra,
        name,
      ],
      { timeoutMs: 120_000, env },
    );

  /** The lines from `Provisioning with ...` to `Docker is up and running!`. */
  const provisioningLines = (stdout: string) => {
    const lines = stdout.split('\n');
    const from = lines.findIndex((l) => l.startsWith('Provisioning with '));
    return lines.slice(from, lines.indexOf('Docker is up and running!') + 1);
  };

  for (const c of installCases) {
    test(`${c.fixture}: create installs ${c.install.at(-1)} and configures the daemon`, async () => {
      const h = await fakeHost(c.fixture, {
        installs: c.engine,
        upgrades: { ...c.engine, version: UPGRADED },
        socket: c.socket,
      });
      const name = `fake-${c.fixture.replace(/\./g, '-')}`;
      created.set(c.fixture, { host: h, name });
      const r = await create(h, name, ENGINE_FLAGS, {}, c.native ? ['--native-ssh'] : []);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual(provisioningLines(r.stdout), [
        `Provisioning with ${c.provisioner}...`,
        'Installing Docker...',
        ...(c.scriptTried ? [SCRIPT_FAILED] : []),
        'Copying certs to the local machine directory...',
        'Copying certs to the remote machine...',
        'Setting Docker configuration on the remote daemon...',
        'Checking connection to Docker...',
        'Docker is up and running!',
      ]);
      // The engine just installed brings its dockerd and docker.socket: they are read again.
      assert.deepEqual(await h.commands(), [
        ...START,
        probe(name),
        ...c.install,
        HAS_DOCKERD,
        DAEMON_FACTS,
        [...certs(), DROP_IN_WRITE, ENABLE, ...(c.firewalld ? [firewalld(h.enginePort)] : []), RESTART],
      ]);
      assert.equal(
        await h.file('/etc/systemd/system/docker.service.d/10-machine.conf'),
        dropIn(c.engine.path, c.socket, h.enginePort),
      );
      const ca = await readFile(join(s.dir, 'certs', 'ca.pem'), 'utf8');
      assert.equal(await h.file('/etc/docker/ca.pem'), ca);
      const v = await s.run(['version', name]);
      assert.deepEqual([v.code, v.stdout], [0, `${c.engine.version}\n`], v.stderr);
    });
  }

  test('again on a host whose drop-in systemd runs with: not rewritten, no daemon-reload', async () => {
    const engine = { version: '24.0.7', path: '/usr/sbin/dockerd', owner: 'docker.io: /usr/sbin/dockerd' };
    const h = await fakeHost('ubuntu-22.04', { engine, socket: true });
    const r = await create(h, 'again');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    // A host that runs an engine: two round trips after the OS is read.
    assert.deepEqual(await h.commands(), [
      ...START,
      probe('again'),
      [...certs(), DROP_IN_WRITE, ENABLE, RESTART],
    ]);
    const dropIn = await h.file(DROP_IN);

    // The create's daemon-reload loaded it; the built-in client this time.
    await h.clearLog();
    const p = await s.run(['--native-ssh', 'provision', 'again']);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await h.commands(), [...START, probe('again'), [...certs(), ENABLE, RESTART_NO_RELOAD]]);
    assert.equal(await h.file(DROP_IN), dropIn);

    // regenerate-certs leaves the drop-in as it is: it asks whether systemd runs with the files on
    // disk, then sends the certificates and restarts.
    await h.clearLog();
    const g = await s.run(['regenerate-certs', '-f', 'again']);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(await h.commands(), [...START, LOADED_STATE, [...certs(), RESTART_NO_RELOAD]]);

    // Our drop-in, but never loaded (a provisioning cut off before its reload): reloaded, not
    // rewritten; by regenerate-certs too.
    await rm(join(h.dir, 'loaded-dropin'));
    await h.clearLog();
    const n = await s.run(['regenerate-certs', '-f', 'again']);
    assert.equal(n.code, 0, n.stderr);
    assert.deepEqual(await h.commands(), [...START, LOADED_STATE, [...certs(), RESTART]]);
    await rm(join(h.dir, 'loaded-dropin'));
    await h.clearLog();
    const q = await s.run(['provision', 'again']);
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(await h.commands(), [...START, probe('again'), [...certs(), ENABLE, RESTART]]);

    // Someone else's drop-in in a folder systemd has not seen since its last reload (which its
    // NeedDaemonReload does not count): reloaded.
    await mkdir(join(h.dir, 'root', '/run/systemd/system/docker.service.d'), { recursive: true });
    await writeFile(join(h.dir, 'root', '/run/systemd/system/docker.service.d/30-proxy.conf'), '[Service]\n');
    await h.clearLog();
    const o = await s.run(['provision', 'again']);
    assert.equal(o.code, 0, o.stderr);
    assert.deepEqual(await h.commands(), [...START, probe('again'), [...certs(), ENABLE, RESTART]]);
    await rm(join(h.dir, 'root', '/run/systemd/system/docker.service.d'), { recursive: true });

    // Edited on the machine: ours is written back and loaded.
    await writeFile(join(h.dir, 'root', DROP_IN), dropIn.replace(' --live-restore', ''));
    await h.clearLog();
    const e = await s.run(['--native-ssh', 'provision', 'again']);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(await h.commands(), [
      ...START,
      probe('again'),
      [...certs(), DROP_IN_WRITE, ENABLE, RESTART],
    ]);
    assert.equal(await h.file(DROP_IN), dropIn);
  });

  test('a failed step of a batch fails as that command alone did, and the steps after it do not run', async () => {
    const engine = { version: '24.0.7', path: '/usr/sbin/dockerd', owner: 'docker.io: /usr/sbin/dockerd' };
    const h = await fakeHost('ubuntu-22.04', { engine, socket: true });
    const upload = "sh -c 'umask 022 && cat > /etc/docker/server.pem'";
    await h.failOn(upload, 'sh: 1: cannot create /etc/docker/server.pem: Read-only file system\n');
    const r = await create(h, 'broken1');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Error creating machine: ssh command error:\ncommand : ${upload}\nerr     : exit status 1\noutput  : sh: 1: cannot create /etc/docker/server.pem: Read-only file system\n`,
    );
    assert.ok(await h.file('/etc/docker/ca.pem'), 'the step before it ran');
    await assert.rejects(h.file(DROP_IN), /ENOENT/, 'the drop-in, a step after it, was not written');

    // The restart's own error, with the engine's journal, from the end of a batch.
    await h.failOn(
      RESTART,
      'Job for docker.service failed because the control process exited with error code.\n',
    );
    const b = await create(h, 'broken2', [], {}, ['--native-ssh']);
    assert.equal(b.code, 1);
    assert.equal(
      b.stderr,
      'Error creating machine: restarting docker failed: Job for docker.service failed because the control process exited with error code.\nlast lines of its journal:\ndocker.service - Docker Application Container Engine (fake)\n',
    );
    assert.equal((await h.commands()).at(-1), 'journalctl -u docker --no-pager -n 15 2>&1');
  });

  test('flatcar and fedora-coreos: the engine of the OS image is kept, only configured', async () => {
    for (const [fixture, provisioner] of [
      ['flatcar', 'flatcar'],
      ['fedora-coreos', 'fedora-coreos'],
    ]) {
      const engine = { version: '24.0.9', path: '/usr/bin/dockerd', owner: 'docker' };
      const h = await fakeHost(fixture, { engine, socket: true });
      const name = `fake-${fixture}`;
      const r = await create(h, name, ENGINE_FLAGS);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual(provisioningLines(r.stdout), [
        `Provisioning with ${provisioner}...`,
        'Docker already installed (Docker version 24.0.9, build 0fake00), keeping it',
        'Copying certs to the local machine directory...',
        'Copying certs to the remote machine...',
        'Setting Docker configuration on the remote daemon...',
        'Checking connection to Docker...',
        'Docker is up and running!',
      ]);
      assert.deepEqual(await h.commands(), [
        ...START,
        probe(name),
        [...certs(), DROP_IN_WRITE, ENABLE, RESTART],
      ]);
      assert.equal(
        await h.file('/etc/systemd/system/docker.service.d/10-machine.conf'),
        dropIn('/usr/bin/dockerd', true, h.enginePort),
      );
      // The engine updates with the OS: upgrade says so and changes nothing.
      await h.clearLog();
      const u = await s.run(['upgrade', name]);
      assert.equal(u.code, 1);
      const os = (await osRelease(fixture)).match(/^PRETTY_NAME="(.*)"$/m)?.[1];
      const how =
        fixture === 'flatcar'
          ? 'Flatcar updates it with the OS (update_engine; flatcar-update)'
          : 'Fedora CoreOS updates it with the OS (zincati; rpm-ostree upgrade)';
      assert.equal(u.stderr, `the engine of ${os} comes with the OS image (24.0.9): ${how}\n`);
      assert.deepEqual(await h.commands(), [...START, 'dockerd --version']);
    }
  });

  test('boot2docker: hostname, certificates and the profile of spec §5.3.8, init script restart', async () => {
    const engine = { version: '19.03.12', path: '/usr/local/bin/dockerd', owner: '' };
    const h = await fakeHost('boot2docker', { engine, certDir: '/var/lib/boot2docker' });
    const r = await create(h, 'b2d', ENGINE_FLAGS);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(provisioningLines(r.stdout), [
      'Provisioning with boot2docker...',
      'Docker already installed (Docker version 19.03.12, build 0fake00), keeping it',
      'Copying certs to the local machine directory...',
      'Copying certs to the remote machine...',
      'Setting Docker configuration on the remote daemon...',
      'Checking connection to Docker...',
      'Docker is up and running!',
    ]);
    assert.deepEqual(await h.commands(), [
      ...START,
      [
        '/usr/bin/sethostname b2d && echo "b2d" | tee /var/lib/boot2docker/etc/hostname >/dev/null',
        'dockerd --version',
      ],
      [
        ...certs('/var/lib/boot2docker'),
        'mkdir -p /var/lib/boot2docker && tee /var/lib/boot2docker/profile >/dev/null',
        '/etc/init.d/docker restart',
      ],
    ]);
    // The original's profile as its shell wrote it (spec §5.3.8), with live-restore added.
    assert.equal(
      await h.file('/var/lib/boot2docker/profile'),
      `
EXTRA_ARGS='
--live-restore
--label spam=eggs
--label provider=generic
--insecure-registry registry.myco.com
--registry-mirror https://mirror.example
--log-driver=none

'
CACERT=/var/lib/boot2docker/ca.pem
DOCKER_HOST='-H tcp://0.0.0.0:${h.enginePort}'
DOCKER_STORAGE=overlay2
DOCKER_TLS=auto
SERVERKEY=/var/lib/boot2docker/server-key.pem
SERVERCERT=/var/lib/boot2docker/server.pem

export "TEST=VALUE"
export "B=has space"

`,
    );
    const u = await s.run(['upgrade', 'b2d']);
    assert.deepEqual(
      [u.code, u.stderr],
      [
        1,
        'the engine of boot2docker comes with the OS image (19.03.12): it comes with the boot2docker ISO: re-create the machine from a newer ISO\n',
      ],
    );
  });

  test('upgrade: the package that owns dockerd, with each package manager; then a restart', async () => {
    const cases: [string, string, string][] = [
      // a machine created above, how it asks who owns dockerd, how it upgrades that package
      [
        'ubuntu-22.04',
        'dpkg-query -S /usr/sbin/dockerd',
        "env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q && apt-get install -y -q --only-upgrade -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold docker.io'",
      ],
      ['fedora-39', "rpm -qf --queryformat '%{NAME}\\n' /usr/bin/dockerd", 'dnf upgrade -y moby-engine'],
      ['centos-7', "rpm -qf --queryformat '%{NAME}\\n' /usr/bin/dockerd", 'yum update -y docker'],
      ['opensuse-leap-15.5', "rpm -qf --queryformat '%{NAME}\\n' /usr/bin/dockerd", 'zypper -n up docker'],
      ['arch', 'pacman -Qoq /usr/bin/dockerd', 'pacman -Sy --noconfirm --noprogressbar docker'],
    ];
    for (const [fixture, ownerQuery, upgrade] of cases) {
      const { host: h, name } = created.get(fixture)!;
      await h.clearLog();
      const u = await s.run(['upgrade', name], { timeoutMs: 60_000 });
      assert.equal(u.code, 0, `${u.stdout}\n${u.stderr}`);
      assert.equal(
        u.stdout,
        'Waiting for SSH to be available...\nDetecting the provisioner...\nUpgrading docker...\nRestarting docker...\n',
      );
      assert.deepEqual(await h.commands(), [
        ...START,
        'dockerd --version',
        FIND_DOCKERD,
        ownerQuery,
        upgrade,
        RESTART,
      ]);
      assert.equal((await s.run(['version', name])).stdout, `${UPGRADED}\n`);
    }
  });

  test('--engine-version: the newest matching package version, instead of the install script', async () => {
    const engine = { version: '24.0.5', path: '/usr/bin/dockerd', owner: 'moby-engine' };
    const h = await fakeHost('fedora-39', {
      installs: engine,
      socket: true,
      available: [
        'Available Packages',
        'moby-engine.x86_64                 20.10.23-1.fc39                  fedora',
        'moby-engine.x86_64                 24.0.5-1.fc39                    updates',
        'moby-engine.x86_64                 24.0.9-1.fc39                    updates',
        '',
      ].join('\n'),
    });
    const r = await create(h, 'pinned', ['--engine-version', '24.0.5']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(provisioningLines(r.stdout).slice(0, 3), [
      'Provisioning with fedora...',
      'Installing Docker...',
      'Installed moby-engine 24.0.5-1.fc39 from updates',
    ]);
    assert.deepEqual((await h.commands()).slice(0, 5), [
      ...START,
      probe('pinned'),
      'dnf list --showduplicates -q moby-engine',
      'dnf install -y --allowerasing moby-engine-24.0.5-1.fc39',
      HAS_DOCKERD,
    ]);
    // Stored beside the original's fields, which the original reads and ignores.
    const config = await readFile(join(s.dir, 'machines', 'pinned', 'config.json'), 'utf8');
    assert.match(
      config,
      /\n {12}"InstallURL": "https:\/\/get\.docker\.com",\n {12}"EngineVersion": "24\.0\.5"\n {8}\},/,
    );
    const inspect = await s.run([
      'inspect',
      '--format',
      '{{.HostOptions.EngineOptions.EngineVersion}}',
      'pinned',
    ]);
    assert.equal(inspect.stdout, '24.0.5\n');
    // provision keeps the engine at the pinned version: nothing is installed again.
    await h.clearLog();
    const p = await s.run(['provision', 'pinned']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(
      p.stdout,
      /\nDocker already installed \(Docker version 24\.0\.5, build 0fake00\), keeping it\n/,
    );
    assert.ok(!(await h.commands()).flat().some((c) => c.startsWith('dnf ')), 'no package command');
  });

  test('--engine-version (from MACHINE_ENGINE_VERSION) replaces an installed engine of another version', async () => {
    const h = await fakeHost('ubuntu-22.04', {
      engine: { version: '20.10.25', path: '/usr/sbin/dockerd', owner: 'docker.io: /usr/sbin/dockerd' },
      installs: { version: '24.0.7', path: '/usr/sbin/dockerd', owner: 'docker.io: /usr/sbin/dockerd' },
      socket: true,
      available: [
        '  docker.io | 24.0.7-0ubuntu2~22.04.1 | http://archive.ubuntu.com/ubuntu jammy-updates/universe amd64 Packages',
        '  docker.io | 20.10.25-0ubuntu1~22.04.1 | http://archive.ubuntu.com/ubuntu jammy-updates/universe amd64 Packages',
        '  docker.io | 20.10.12-0ubuntu4 | http://archive.ubuntu.com/ubuntu jammy/universe amd64 Packages',
        '',
      ].join('\n'),
    });
    const r = await create(h, 'repinned', [], { MACHINE_ENGINE_VERSION: '24.0' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(provisioningLines(r.stdout).slice(0, 3), [
      'Provisioning with ubuntu(systemd)...',
      'Docker 20.10.25 is installed; installing 24.0 as --engine-version asks',
      'Installed docker.io 24.0.7-0ubuntu2~22.04.1 from http://archive.ubuntu.com/ubuntu jammy-updates/universe amd64 Packages',
    ]);
    assert.deepEqual((await h.commands()).slice(0, 8), [
      ...START,
      probe('repinned'),
      FIND_DOCKERD,
      'dpkg-query -S /usr/sbin/dockerd',
      'apt-get update -q',
      'apt-cache madison docker.io',
      "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold 'docker.io=24.0.7-0ubuntu2~22.04.1'",
      HAS_DOCKERD,
    ]);
    assert.equal((await s.run(['version', 'repinned'])).stdout, '24.0.7\n');
  });

  test('--engine-version that no source has, and one that is not a version: clear errors', async () => {
    const h = await fakeHost('arch', {
      installs: { version: '24.0.7', path: '/usr/bin/dockerd', owner: 'docker' },
      available: 'Repository      : extra\nName            : docker\nVersion         : 1:24.0.7-1\n',
    });
    const r = await create(h, 'nopin', ['--engine-version', '23.0.6']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "Error creating machine: docker 23.0.6 (--engine-version) is not in the machine's package sources: pacman looked in extra and found only 1:24.0.7-1\n",
    );
    assert.deepEqual((await h.commands()).slice(-3), [
      probe('nopin'),
      'pacman -Sy --noconfirm --noprogressbar',
      'pacman -Si docker',
    ]);
    assert.equal((await s.run(['rm', '-y', 'nopin'])).code, 0);

    const bad = await create(h, 'badpin', ['--engine-version', '24.0;reboot']);
    assert.deepEqual(
      [bad.code, bad.stderr],
      [
        1,
        'Invalid --engine-version "24.0;reboot": use a version such as 24.0.7 (letters, digits and . + ~ : _ - only)\n',
      ],
    );
    assert.equal((await s.run(['ls', '-q', '--filter', 'name=badpin'])).stdout, '');
  });

  test('an OS no provisioner knows', async () => {
    const h = await fakeHost('alpine-3.19', {});
    const r = await create(h, 'alp');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error creating machine: OS type not recognized: Alpine Linux v3.19 (this release provisions Debian, Ubuntu 15.04 and later, RHEL, CentOS, Fedora, Rocky, AlmaLinux, Oracle Linux, Amazon Linux, SUSE, Arch, Flatcar, Fedora CoreOS and boot2docker)\n',
    );
    assert.deepEqual(await h.commands(), START);
  });
});
