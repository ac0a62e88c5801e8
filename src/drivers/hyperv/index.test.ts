import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FlagValue } from '../../flags/def.js';
import { baseDriverFields } from '../base.js';
import type { Driver, DriverContext } from '../driver.js';
import { hypervDriver, inside, NO_EXTERNAL_SWITCH, needsWindows, stateOf, unavailable } from './index.js';
import { COMMAND_PREFIX } from './powershell.js';

const FAKE = join(import.meta.dirname, '..', '..', '..', 'test', 'fakes', 'hyperv', 'powershell');

function newDriver(store: string, name: string, given: Record<string, FlagValue> = {}): Driver {
  const values = new Map<string, FlagValue>();
  for (const f of hypervDriver.flags) if (f.default !== undefined) values.set(f.name, f.default as FlagValue);
  for (const [k, v] of Object.entries(given)) values.set(k, v);
  return hypervDriver.fromFlags(baseDriverFields(name, store), {
    values,
    explicit: new Set(Object.keys(given)),
  });
}

test("Get-VM's states as the machine states", () => {
  assert.deepEqual(
    ['Running', 'Off', 'Paused', 'Saved', 'Starting', 'Stopping', 'OffCritical', 'Other'].map(stateOf),
    ['Running', 'Stopped', 'Paused', 'Saved', 'Starting', 'Stopping', 'Stopped', ''],
  );
});

test('inside: Windows paths compared as Windows does', () => {
  assert.ok(
    inside('C:\\Users\\Jo\\.docker\\machine\\machines\\dev\\dev', 'c:/users/jo/.docker/machine/machines/dev'),
  );
  assert.ok(!inside('C:\\VMs\\dev', 'C:\\Users\\Jo\\.docker\\machine\\machines\\dev'));
  assert.ok(!inside('C:\\x\\dev2', 'C:\\x\\dev'));
  assert.ok(!inside('', 'C:\\x'));
});

test('off Windows without the override: one line saying what to use', () => {
  assert.equal(
    unavailable({}, 'linux'),
    'The hyperv driver needs Windows with Hyper-V, and this system is linux: use -d qemu (or -d virtualbox) here',
  );
  assert.equal(unavailable({}, 'win32'), undefined);
  assert.equal(unavailable({ MACHINE_HYPERV_POWERSHELL: '/x' }, 'linux'), undefined);
  assert.equal(needsWindows('darwin').split('\n').length, 1);
});

test("the driver JSON: the original's fields with its defaults", () => {
  const j = newDriver('/store', 'hv').toJSON();
  assert.deepEqual(Object.keys(j).slice(0, 17), [
    'IPAddress',
    'MachineName',
    'SSHUser',
    'SSHPort',
    'SSHKeyPath',
    'StorePath',
    'SwarmMaster',
    'SwarmHost',
    'SwarmDiscovery',
    'Boot2DockerURL',
    'VSwitch',
    'DiskSize',
    'MemSize',
    'CPU',
    'MacAddr',
    'VLanID',
    'DisableDynamicMemory',
  ]);
  assert.equal(j.DiskSize, 20000);
  assert.equal(j.MemSize, 1024);
  assert.equal(j.CPU, 1);
  assert.equal(j.VLanID, 0);
  assert.equal(j.SSHUser, 'docker');
});

const tools = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v qemu-img && command -v genisoimage'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs qemu-img and genisoimage';
  }
})();

describe('the driver against the fake powershell (no Hyper-V here)', { skip: tools }, () => {
  let root: string;
  let store: string;
  let image: string;
  const saved = { ...process.env };
  const statePath = () => join(root, 'hyperv-state.json');
  const logPath = () => join(root, 'commands.log');
  const commands = (): string[] =>
    existsSync(logPath())
      ? readFileSync(logPath(), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as string).slice(COMMAND_PREFIX.length))
      : [];
  const fakeState = () => JSON.parse(readFileSync(statePath(), 'utf8'));
  const setState = (s: object) => writeFile(statePath(), JSON.stringify(s));
  const logs: string[] = [];
  const ctx: DriverContext = {
    log: (l) => logs.push(l),
    debug: () => {},
    save: async () => {},
    ssh: async () => {
      throw new Error('no SSH in this test');
    },
    async waitFor(what, probe, fatal) {
      let last: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          return await probe();
        } catch (err) {
          if (fatal?.(err)) throw err;
          last = err;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}: ${last}`);
    },
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hyperv-'));
    // The store's path has a space, a single and a double quote: each command must keep it whole.
    store = join(root, `Jo O'Neil "docker" store`);
    image = join(root, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    process.env.MACHINE_HYPERV_POWERSHELL = FAKE;
    process.env.FAKE_HYPERV_NODE = process.execPath;
    process.env.FAKE_HYPERV_STATE = statePath();
    process.env.FAKE_HYPERV_LOG = logPath();
    process.env.FAKE_HYPERV_IP = '192.0.2.10';
  });

  after(async () => {
    process.env = saved;
    await rm(root, { recursive: true, force: true });
  });

  const reset = async (over: object = {}) => {
    await rm(logPath(), { force: true });
    await setState({
      module: true,
      rights: { HyperVAdministrator: true, Administrator: false },
      switches: [
        { Name: 'Default Switch', SwitchType: 'Internal' },
        { Name: `Jo's "LAN"`, SwitchType: 'External' },
      ],
      vms: {},
      ...over,
    });
  };

  test("pre-create refusals: the original's lines, and nothing run after them", async () => {
    await reset({ module: false });
    await assert.rejects(newDriver(store, 'hv1').preCreateCheck(ctx), {
      message: /^Hyper-V PowerShell Module is not available: turn on Hyper-V/,
    });
    assert.deepEqual(commands(), ['@(Get-Module -ListAvailable -Name Hyper-V).Name | Get-Unique']);

    await reset({ rights: { HyperVAdministrator: false, Administrator: false } });
    await assert.rejects(newDriver(store, 'hv1').preCreateCheck(ctx), {
      message: /^Hyper-v commands have to be run as an Administrator/,
    });
    assert.equal(commands().length, 2);

    await reset({ switches: [{ Name: 'Default Switch', SwitchType: 'Internal' }] });
    await assert.rejects(
      newDriver(store, 'hv1').preCreateCheck(ctx),
      (err: Error) => err.message === NO_EXTERNAL_SWITCH,
    );

    await reset();
    await assert.rejects(newDriver(store, 'hv1', { 'hyperv-virtual-switch': 'nope' }).preCreateCheck(ctx), {
      message: `vswitch "nope" not found (Hyper-V has "Default Switch", "Jo's "LAN""): give --hyperv-virtual-switch one of them`,
    });
    // Named, an Internal switch is taken.
    const d = newDriver(store, 'hv1', { 'hyperv-virtual-switch': 'Default Switch' });
    await d.preCreateCheck(ctx);
    assert.equal(d.toJSON().VSwitch, 'Default Switch');

    await reset({ vms: { hv1: { State: 'Off', Path: 'C:\\elsewhere\\hv1' } } });
    await assert.rejects(
      newDriver(store, 'hv1').preCreateCheck(ctx),
      /already has a VM named "hv1" that this store did not make/,
    );
  });

  test('create, state, stop, start, kill, rm: the exact commands, paths kept whole', async () => {
    await reset();
    const name = 'hv2';
    const dir = join(store, 'machines', name);
    await mkdir(dir, { recursive: true });
    const d = newDriver(store, name, {
      'hyperv-image': image,
      'hyperv-disk-size': 1024,
      'hyperv-memory': 2048,
      'hyperv-cpu-count': 2,
      'hyperv-static-macaddress': '00-15-5d-01-23-45',
      'hyperv-vlan-id': 42,
      'hyperv-disable-dynamic-memory': true,
      'hyperv-boot2docker-url': 'https://example.invalid/b2d.iso',
    });
    await d.preCreateCheck(ctx);
    assert.match(logs.join('\n'), /--hyperv-boot2docker-url is ignored: boot2docker is gone/);
    await d.create(ctx);
    const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
    assert.deepEqual(commands(), [
      '@(Get-Module -ListAvailable -Name Hyper-V).Name | Get-Unique',
      commands()[1],
      "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch | Select-Object Name, @{ Name = 'SwitchType'; Expression = { [string]$_.SwitchType } })",
      `Hyper-V\\Get-VM -Name 'hv2' | Select-Object Name, @{ Name = 'State'; Expression = { [string]$_.State } }, Path | ConvertTo-Json -Compress`,
      `Hyper-V\\New-VM -Name 'hv2' -Path ${q(dir)} -Generation 1 -SwitchName 'Jo''s "LAN"' -MemoryStartupBytes 2048MB -NoVHD | Out-Null`,
      "Hyper-V\\Set-VMMemory -VMName 'hv2' -DynamicMemoryEnabled $false",
      "Hyper-V\\Set-VMProcessor -VMName 'hv2' -Count 2",
      "Hyper-V\\Set-VMNetworkAdapter -VMName 'hv2' -StaticMacAddress '00155D012345'",
      "Hyper-V\\Set-VMNetworkAdapterVlan -VMName 'hv2' -Access -VlanId 42",
      `Hyper-V\\Set-VMDvdDrive -VMName 'hv2' -Path ${q(join(dir, 'seed.iso'))}`,
      `Hyper-V\\Add-VMHardDiskDrive -VMName 'hv2' -Path ${q(join(dir, 'disk.vhdx'))}`,
      "Hyper-V\\Set-VMBios -VMName 'hv2' -StartupOrder @('IDE', 'CD', 'LegacyNetworkAdapter', 'Floppy')",
      "Hyper-V\\Start-VM -Name 'hv2'",
      `Hyper-V\\Get-VM -Name 'hv2' | Select-Object Name, @{ Name = 'State'; Expression = { [string]$_.State } }, Path | ConvertTo-Json -Compress`,
      "ConvertTo-Json -Compress -InputObject @((Hyper-V\\Get-VM -Name 'hv2').NetworkAdapters[0].IPAddresses)",
    ]);
    assert.match(
      commands()[1],
      /IsInRole\(\(New-Object System\.Security\.Principal\.SecurityIdentifier\('S-1-5-32-578'\)\)\)/,
    );
    // The fake read every quoted value back as the path and names the driver meant.
    const vm = fakeState().vms.hv2;
    assert.equal(vm.Path, join(dir, name));
    assert.equal(vm.SwitchName, `Jo's "LAN"`);
    assert.equal(vm.DvdPath, join(dir, 'seed.iso'));
    assert.deepEqual(vm.HardDisks, [join(dir, 'disk.vhdx')]);
    assert.equal(vm.MemoryStartupMB, 2048);
    assert.equal(vm.DynamicMemoryEnabled, false);
    assert.equal(vm.Generation, 1);
    // The disk is a VHDX; the seed asks for the daemons that report the address.
    assert.match(
      execFileSync('qemu-img', ['info', join(dir, 'disk.vhdx')], { encoding: 'utf8' }),
      /file format: vhdx/,
    );
    const iso = readFileSync(join(dir, 'seed.iso'));
    assert.ok(iso.includes('hyperv-daemons'), 'the seed installs hyperv-daemons');
    // The first IPv4 address, not the IPv6 one Hyper-V also lists.
    assert.equal(await d.getIP(), '192.0.2.10');
    assert.equal(await d.getURL(), 'tcp://192.0.2.10:2376');
    assert.equal(await d.getSSHHostname(), '192.0.2.10');
    assert.equal(await d.getSSHPort(), 22);
    assert.equal(await d.getState(), 'Running');

    await rm(logPath());
    await d.stop(ctx);
    assert.equal(await d.getState(), 'Stopped');
    await assert.rejects(d.getURL(), /Host is not running/);
    await d.start(ctx);
    assert.equal(await d.getState(), 'Running');
    await d.kill(ctx);
    assert.equal(await d.getState(), 'Stopped');
    await d.start(ctx);
    await d.remove(ctx);
    assert.equal(await d.getState(), 'NotFound');
    assert.deepEqual(fakeState().vms, {});
    const names = commands().map((c) => c.replace(/ .*/, ''));
    assert.deepEqual(names, [
      'Hyper-V\\Get-VM', // stop: state
      'Hyper-V\\Stop-VM',
      'Hyper-V\\Get-VM', // until down
      'Hyper-V\\Get-VM', // getState
      'Hyper-V\\Get-VM', // getURL
      'Hyper-V\\Get-VM', // start
      'Hyper-V\\Start-VM',
      'Hyper-V\\Get-VM',
      'ConvertTo-Json',
      'Hyper-V\\Get-VM', // getState
      'Hyper-V\\Get-VM', // kill
      'Hyper-V\\Stop-VM',
      'Hyper-V\\Get-VM',
      'Hyper-V\\Get-VM', // getState
      'Hyper-V\\Get-VM', // start
      'Hyper-V\\Start-VM',
      'Hyper-V\\Get-VM',
      'ConvertTo-Json',
      'Hyper-V\\Get-VM', // rm
      'Hyper-V\\Stop-VM',
      'Hyper-V\\Remove-VM',
      'Hyper-V\\Get-VM', // getState
    ]);
    assert.ok(commands().includes("Hyper-V\\Stop-VM -Name 'hv2'"));
    assert.equal(commands().filter((c) => c === "Hyper-V\\Stop-VM -Name 'hv2' -TurnOff").length, 2);
    assert.ok(commands().includes("Hyper-V\\Remove-VM -Name 'hv2' -Force"));
    // A second rm finds no VM and runs nothing more than the look-up.
    await d.remove(ctx);
  });

  test('a VM that never reports an address: the wait ends with its reason', async () => {
    await reset();
    delete process.env.FAKE_HYPERV_IP;
    try {
      const name = 'hv3';
      await mkdir(join(store, 'machines', name), { recursive: true });
      const d = newDriver(store, name, { 'hyperv-image': image, 'hyperv-disk-size': 1024 });
      await d.preCreateCheck(ctx);
      await assert.rejects(
        d.create(ctx),
        /timed out waiting for the VM's IPv4 address .*: Error: no IPv4 address reported yet/,
      );
      await d.remove(ctx);
      assert.deepEqual(fakeState().vms, {});
    } finally {
      process.env.FAKE_HYPERV_IP = '192.0.2.10';
    }
  });

  test('start resumes a paused VM (Start-VM would not)', async () => {
    await reset({
      vms: { hv5: { State: 'Paused', Path: join(store, 'machines', 'hv5', 'hv5'), IPAddresses: [] } },
    });
    const d = newDriver(store, 'hv5');
    assert.equal(await d.getState(), 'Paused');
    await d.start(ctx);
    assert.equal(await d.getState(), 'Running');
    assert.ok(commands().includes("Hyper-V\\Resume-VM -Name 'hv5'"));
    assert.ok(!commands().some((c) => c.startsWith('Hyper-V\\Start-VM')));
  });

  test("rm leaves alone a VM of the same name that is not in the machine's folder", async () => {
    await reset({ vms: { hv4: { State: 'Running', Path: 'C:\\VMs\\hv4' } } });
    const d = hypervDriver.fromJSON({ ...newDriver(store, 'hv4').toJSON() });
    await d.remove(ctx);
    assert.equal(fakeState().vms.hv4.State, 'Running');
    assert.match(
      logs.at(-1) ?? '',
      /The Hyper-V VM "hv4" \(C:\\VMs\\hv4\) is not this machine's: left alone/,
    );
  });
});
