import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliStore, repoRoot, tempStore } from '../helpers/cli.js';
import { killAt } from '../helpers/kill-at.js';

// Hyper-V runs only on Windows: the CLI runs the hyperv driver against a fake powershell
// (test/fakes/hyperv) that keeps Hyper-V's VMs and switches in a file and answers as Windows
// PowerShell's Hyper-V module does. The disk conversion (qemu-img) and the seed ISO are real; no
// VM boots, so a create here ends at the address wait or at a kill. The driver's whole sequence
// with its exact commands is in src/drivers/hyperv/index.test.ts.
const skip = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v qemu-img && command -v genisoimage'], { stdio: 'ignore' });
  } catch {
    return 'needs qemu-img and genisoimage (qemu-utils, genisoimage)';
  }
  return process.platform === 'win32' ? 'runs the fake off Windows' : false;
})();

const FAKE = join(repoRoot, 'test', 'fakes', 'hyperv', 'powershell');
const PREFIX = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; ";

describe('create -d hyperv off Windows, and against a fake powershell', {
  skip,
  timeout: 10 * 60_000,
}, () => {
  let s: CliStore;
  let storeDir: string;
  let env: NodeJS.ProcessEnv;
  let image: string;

  const statePath = () => join(s.dir, 'hyperv-state.json');
  const logPath = () => join(s.dir, 'powershell.log');
  const state = () => JSON.parse(readFileSync(statePath(), 'utf8'));
  const commands = (): string[] =>
    existsSync(logPath())
      ? readFileSync(logPath(), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as string).slice(PREFIX.length))
      : [];
  const machines = async () =>
    (await readdir(join(storeDir, 'machines')).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  const setState = (over: object = {}) =>
    writeFile(
      statePath(),
      JSON.stringify({
        module: true,
        rights: { HyperVAdministrator: false, Administrator: true },
        switches: [
          { Name: 'Default Switch', SwitchType: 'Internal' },
          { Name: 'LAN', SwitchType: 'External' },
        ],
        vms: {},
        ...over,
      }),
    );
  const run = (args: string[], extra: NodeJS.ProcessEnv = env) =>
    s.run(args, { env: { MACHINE_STORAGE_PATH: storeDir, ...extra }, timeoutMs: 120_000 });
  const common = () => [
    '-d',
    'hyperv',
    '--hyperv-image',
    image,
    '--hyperv-disk-size',
    '1024',
    '--wait-timeout',
    '3',
  ];

  before(async () => {
    s = await tempStore();
    // A store path with a space and a quote: every command must keep it whole.
    storeDir = join(s.dir, "Jo's store");
    await mkdir(storeDir);
    image = join(s.dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    env = {
      MACHINE_HYPERV_POWERSHELL: FAKE,
      FAKE_HYPERV_NODE: process.execPath,
      FAKE_HYPERV_STATE: statePath(),
      FAKE_HYPERV_LOG: logPath(),
    };
  });

  after(async () => {
    await s?.cleanup();
  });

  test('off Windows without the override: one line, exit 1, nothing made', async () => {
    const r = await run(['create', ...common(), 'hv0'], {});
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `The hyperv driver needs Windows with Hyper-V, and this system is ${process.platform}: use -d qemu (or -d virtualbox) here\n`,
    );
    assert.deepEqual(await machines(), []);
    // The flags are still there for help.
    const help = await run(['create', '-d', 'hyperv', '--help'], {});
    assert.equal(help.code, 0);
    for (const f of [
      'hyperv-boot2docker-url',
      'hyperv-virtual-switch',
      'hyperv-disk-size',
      'hyperv-memory',
      'hyperv-cpu-count',
      'hyperv-static-macaddress',
      'hyperv-vlan-id',
      'hyperv-disable-dynamic-memory',
    ]) {
      assert.match(help.stdout, new RegExp(`--${f}\\b`));
    }
    assert.match(help.stdout, /\$HYPERV_VIRTUAL_SWITCH/);
  });

  test("pre-create refusals: the original's lines, exit 3, nothing made, nothing changed in Hyper-V", async () => {
    const cases: [object, string][] = [
      [
        { module: false },
        'Hyper-V PowerShell Module is not available: turn on Hyper-V with its PowerShell module (Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V-All), then restart Windows',
      ],
      [
        { rights: { HyperVAdministrator: false, Administrator: false } },
        'Hyper-v commands have to be run as an Administrator: run as a member of the Hyper-V Administrators group or as an Administrator',
      ],
      [
        { switches: [{ Name: 'Default Switch', SwitchType: 'Internal' }] },
        'no External vswitch found. A valid vswitch must be available for this command to run. Check https://docs.docker.com/machine/drivers/hyper-v/',
      ],
    ];
    for (const [over, line] of cases) {
      await setState(over);
      const r = await run(['create', ...common(), 'hv1']);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stderr, `Error with pre-create check: "${line}"\n`);
    }
    const bad = await run(['create', ...common(), '--hyperv-vlan-id', '5000', 'hv1']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /invalid value "5000" for flag -hyperv-vlan-id: expected a VLAN ID, 1-4094 \(0: no VLAN\)/,
    );
    assert.deepEqual(await machines(), []);
    assert.deepEqual(state().vms, {});
    assert.ok(
      commands().every((c) => !/New-VM|Set-VM|Start-VM|Remove-VM|Stop-VM/.test(c)),
      'only questions were asked',
    );
  });

  test('a VM that reports no address: create fails within --wait-timeout, rm -y leaves nothing', async () => {
    await setState();
    const r = await run(['create', ...common(), 'hv2']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /the VM's IPv4 address \(reported by Hyper-V's integration daemons in the guest\)/,
    );
    assert.equal(state().vms.hv2.State, 'Running');
    const rm = await run(['rm', '-y', 'hv2']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(state().vms, {});
    assert.equal(existsSync(join(storeDir, 'machines', 'hv2')), false);
  });

  test('kill -9 after New-VM and after Start-VM, then rm -y: no VM registered, no files', async () => {
    await setState();
    const points = { k1: 'hyperv-vm-created', k2: 'hyperv-started' };
    for (const [name, point] of Object.entries(points)) {
      await killAt(point, ['create', ...common(), name], {
        env: { ...env, MACHINE_STORAGE_PATH: storeDir, DOCKER_CONFIG: join(s.dir, 'docker-config') },
        timeoutMs: 120_000,
      });
    }
    assert.equal(state().vms.k1.State, 'Off');
    assert.equal(state().vms.k2.State, 'Running');
    assert.equal(state().vms.k1.Path, join(storeDir, 'machines', 'k1', 'k1'));
    for (const name of Object.keys(points)) {
      const r = await run(['rm', '-y', name]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal(state().vms[name], undefined);
      assert.equal(existsSync(join(storeDir, 'machines', name)), false);
    }
    assert.ok(commands().includes("Hyper-V\\Stop-VM -Name 'k2' -TurnOff"));
    assert.ok(commands().includes("Hyper-V\\Remove-VM -Name 'k1' -Force"));
    assert.ok(
      commands().includes(
        `Hyper-V\\New-VM -Name 'k1' -Path '${join(storeDir, 'machines', 'k1').replaceAll("'", "''")}' -Generation 1 -SwitchName 'LAN' -MemoryStartupBytes 1024MB -NoVHD | Out-Null`,
      ),
    );
  });

  test("a hyperv machine of the original's store off Windows: listed, and removed by rm -f", async () => {
    const made = await run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'old'], {});
    assert.equal(made.code, 0, made.stderr);
    const path = join(storeDir, 'machines', 'old', 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8'));
    config.DriverName = 'hyperv';
    config.Driver = {
      IPAddress: '192.0.2.20',
      MachineName: 'old',
      SSHUser: 'docker',
      SSHPort: 22,
      SSHKeyPath: join(storeDir, 'machines', 'old', 'id_rsa'),
      StorePath: storeDir,
      SwarmMaster: false,
      SwarmHost: 'tcp://0.0.0.0:3376',
      SwarmDiscovery: '',
      Boot2DockerURL: '',
      VSwitch: 'LAN',
      DiskSize: 20000,
      MemSize: 1024,
      CPU: 1,
      MacAddr: '',
      VLanID: 0,
      DisableDynamicMemory: false,
    };
    await writeFile(path, JSON.stringify(config, null, 4));
    const ls = await run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}}'], {});
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^old hyperv /m);
    const rm = await run(['rm', '-y', 'old'], {});
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /needs Windows with Hyper-V/);
    const rmf = await run(['rm', '-f', '-y', 'old'], {});
    assert.equal(rmf.code, 0, rmf.stderr);
    assert.equal(existsSync(join(storeDir, 'machines', 'old')), false);
  });
});
