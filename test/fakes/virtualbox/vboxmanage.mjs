// A fake VBoxManage for the virtualbox driver's tests: VirtualBox does not install here. It keeps
// VMs, host-only interfaces and DHCP servers in a JSON file ($FAKE_VBOX_STATE), records each
// command line ($FAKE_VBOX_LOG, one JSON array a line), answers in VirtualBox 7's formats and
// error lines, and refuses a host-only address outside the ranges networks.conf allows
// (E_ACCESSDENIED), as VirtualBox 6.1.28 and later do. `startvm` boots the disk and DVD it was
// given with qemu-system-x86_64 (TCG), the NAT rules as user networking forwards on 127.0.0.1;
// a kernel given in $FAKE_VBOX_KERNEL (+ _INITRD, _APPEND) stands in for a boot loader, which
// the project's built image lacks. Disks and the DVD are virtio devices there: the built
// image's initrd has no SATA driver.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';

const args = process.argv.slice(2);
const statePath = process.env.FAKE_VBOX_STATE;
if (!statePath) {
  process.stderr.write('VBoxManage: error: FAKE_VBOX_STATE is not set\n');
  process.exit(1);
}
if (process.env.FAKE_VBOX_LOG) appendFileSync(process.env.FAKE_VBOX_LOG, `${JSON.stringify(args)}\n`);

function load() {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8'));
  } catch {
    return { vms: {}, hostonlyifs: [], dhcpservers: [] };
  }
}
function save(s) {
  writeFileSync(`${statePath}.tmp`, JSON.stringify(s, null, 1));
  renameSync(`${statePath}.tmp`, statePath);
}

class Failure extends Error {
  constructor(lines) {
    super(lines[0]);
    this.lines = lines;
  }
}

/** VirtualBox's way of failing: "VBoxManage: error: " lines on stderr, exit status 1. */
function fail(...lines) {
  throw new Failure(lines);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function noVM(name) {
  fail(
    `Could not find a registered machine named '${name}'`,
    'Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports',
    'Context: "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())" at line 2621 of file VBoxManageInfo.cpp',
  );
}

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The VM's state, with a QEMU that has gone meanwhile (guest powered off) as poweroff. */
function vmOf(s, name) {
  const vm = s.vms[name];
  if (!vm) noVM(name);
  if ((vm.state === 'running' || vm.state === 'paused') && !alive(vm.pid)) {
    vm.state = vm.pid ? 'poweroff' : vm.state;
    vm.pid = 0;
  }
  return vm;
}

function locked(vm) {
  if (vm.state === 'running' || vm.state === 'paused')
    fail(`The machine '${vm.name}' is already locked for a session (or being unlocked)`);
}

// networks.conf: `* RANGE ...` lines; without the file, 192.168.56.0/21.
function ipInt(s) {
  return s.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}
function allowed(ip, mask) {
  const path = process.env.MACHINE_VIRTUALBOX_NETWORKS_CONF || '/etc/vbox/networks.conf';
  let ranges = ['192.168.56.0/21'];
  if (existsSync(path)) {
    ranges = readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l.startsWith('*'))
      .flatMap((l) => l.slice(1).trim().split(/\s+/))
      .filter((w) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(w));
  }
  const prefix = mask.split('.').reduce((n, p) => n + (Number(p).toString(2).match(/1/g) ?? []).length, 0);
  return ranges.some((r) => {
    const [net, bits] = r.split('/');
    const b = Number(bits);
    if (b > prefix) return false;
    const m = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
    return (ipInt(ip) & m) >>> 0 === (ipInt(net) & m) >>> 0;
  });
}

/** Pairs of --option value after the VM name; flags without a value are not used here. */
function options(list) {
  const out = [];
  for (let i = 0; i < list.length; i++) {
    if (!list[i].startsWith('--')) continue;
    out.push([list[i].slice(2), list[i + 1] ?? '']);
    i++;
  }
  return out;
}

function qmp(sock, command) {
  return new Promise((resolve) => {
    const c = createConnection(sock);
    let buf = '';
    let sent = 0;
    const timer = setTimeout(() => c.destroy(), 5000);
    c.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const _ of lines) {
        if (sent === 0) c.write('{"execute":"qmp_capabilities"}\n');
        else if (sent === 1) c.write(`{"execute":"${command}"}\n`);
        else {
          clearTimeout(timer);
          c.end();
          return;
        }
        sent++;
      }
    });
    c.on('error', () => resolve());
    c.on('close', () => resolve());
  });
}

function waitGone(pid, ms) {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) sleep(200);
  return !alive(pid);
}

function machineReadable(vm) {
  const q = (v) => `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const o = vm.settings;
  const lines = [
    `name=${q(vm.name)}`,
    'Encryption:     disabled',
    `groups=${q('/')}`,
    `ostype=${q(o.ostype ?? 'Other')}`,
    `UUID=${q(vm.uuid)}`,
    `CfgFile=${q(vm.cfgFile)}`,
    `SnapFldr=${q(join(dirname(vm.cfgFile), 'Snapshots'))}`,
    `LogFldr=${q(join(dirname(vm.cfgFile), 'Logs'))}`,
    `memory=${o.memory ?? 128}`,
    `cpus=${o.cpus ?? 1}`,
    `firmware=${q(o.firmware ?? 'BIOS')}`,
    `VMState=${q(vm.state)}`,
    `VMStateChangeTime=${q(vm.changed)}`,
  ];
  for (const [ctl, ports] of Object.entries(vm.storage)) {
    for (const [port, medium] of Object.entries(ports))
      lines.push(`${q(`${ctl}-${port}-0`)}=${q(medium.medium)}`);
  }
  for (const n of [1, 2]) {
    const kind = o[`nic${n}`] ?? 'none';
    lines.push(`nic${n}=${q(kind)}`);
    if (kind === 'none') continue;
    lines.push(`nictype${n}=${q(o[`nictype${n}`] ?? '82540EM')}`);
    lines.push(`macaddress${n}=${q(o[`macaddress${n}`] ?? '')}`);
    lines.push(`cableconnected${n}=${q(o[`cableconnected${n}`] ?? 'on')}`);
    if (kind === 'hostonly') lines.push(`hostonlyadapter${n}=${q(o[`hostonlyadapter${n}`] ?? '')}`);
    if (kind === 'nat') lines.push(`natnet${n}=${q('nat')}`);
  }
  vm.natpf.forEach((r, i) => {
    lines.push(`Forwarding(${i})=${q(r)}`);
  });
  vm.shares.forEach((sh, i) => {
    lines.push(`SharedFolderNameMachineMapping${i + 1}=${q(sh.name)}`);
    lines.push(`SharedFolderPathMachineMapping${i + 1}=${q(sh.hostpath)}`);
  });
  return `${lines.join('\n')}\n`;
}

function boot(vm) {
  const dir = dirname(vm.cfgFile);
  mkdirSync(join(dir, 'Logs'), { recursive: true });
  const log = join(dir, 'Logs', 'VBox.log');
  appendFileSync(log, `00:00:00.000000 VirtualBox VM 7.0.14 r161095 linux.amd64 (fake: QEMU TCG)\n`);
  const o = vm.settings;
  const fwd = vm.natpf
    .map((r) => r.split(','))
    .map(([, proto, hip, hport, , gport]) => `hostfwd=${proto}:${hip}:${hport}-:${gport}`)
    .join(',');
  const qemuArgs = [
    '-name',
    `fake-vbox-${vm.name}`,
    '-accel',
    'tcg',
    '-smp',
    String(o.cpus ?? 1),
    '-m',
    String(o.memory ?? 128),
    '-machine',
    'graphics=off',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-daemonize',
    '-pidfile',
    join(dir, 'fake-qemu.pid'),
    '-qmp',
    `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
    '-serial',
    `file:${join(dir, 'Logs', 'console.log')}`,
  ];
  for (const ports of Object.values(vm.storage)) {
    for (const m of Object.values(ports).sort((a, b) => (a.type === 'hdd' ? -1 : b.type === 'hdd' ? 1 : 0))) {
      const fmt = m.medium.endsWith('.vmdk') ? 'vmdk' : m.medium.endsWith('.vdi') ? 'vdi' : 'raw';
      qemuArgs.push(
        '-drive',
        `file=${m.medium},format=${fmt},if=virtio${m.type === 'dvddrive' ? ',readonly=on' : ''}`,
      );
    }
  }
  // NAT: user networking cut off from outside networks, with the forwards.
  if (o.nic1 === 'nat') {
    qemuArgs.push('-netdev', `user,id=n1,restrict=on${fwd ? `,${fwd}` : ''}`);
    qemuArgs.push('-device', `virtio-net-pci,netdev=n1,mac=${colon(o.macaddress1)}`);
  }
  // Host-only: a NIC with its MAC on a network of its own (the guest's address is static).
  if (o.nic2 === 'hostonly') {
    qemuArgs.push('-netdev', 'user,id=n2,restrict=on,net=10.0.3.0/24');
    qemuArgs.push('-device', `virtio-net-pci,netdev=n2,mac=${colon(o.macaddress2)}`);
  }
  if (process.env.FAKE_VBOX_KERNEL) {
    qemuArgs.push('-kernel', process.env.FAKE_VBOX_KERNEL, '-append', process.env.FAKE_VBOX_APPEND ?? '');
    if (process.env.FAKE_VBOX_INITRD) qemuArgs.push('-initrd', process.env.FAKE_VBOX_INITRD);
  }
  appendFileSync(log, `00:00:00.000001 fake: qemu-system-x86_64 ${qemuArgs.join(' ')}\n`);
  const r = spawnSync(process.env.FAKE_VBOX_QEMU || 'qemu-system-x86_64', qemuArgs, { encoding: 'utf8' });
  if (r.status !== 0) {
    fail(`The VM session was aborted.`, `Details: ${(r.stderr || '').trim().split('\n').join(' ')}`);
  }
  return Number(readFileSync(join(dir, 'fake-qemu.pid'), 'utf8').trim());
}

function colon(mac) {
  return (mac ?? '').toLowerCase().match(/../g).join(':');
}

async function main() {
  const [cmd, ...rest] = args;
  const s = load();
  switch (cmd) {
    case '--version':
    case '-v':
      process.stdout.write(`${process.env.FAKE_VBOX_VERSION || '7.0.14r161095'}\n`);
      return;
    case 'list': {
      const what = rest[0];
      if (what === 'vms' || what === 'runningvms') {
        for (const name of Object.keys(s.vms)) {
          const vm = vmOf(s, name);
          if (what === 'vms' || vm.state === 'running') process.stdout.write(`"${name}" {${vm.uuid}}\n`);
        }
        save(s);
        return;
      }
      if (what === 'hostonlyifs') {
        for (const i of s.hostonlyifs) {
          process.stdout.write(
            [
              `Name:            ${i.name}`,
              `GUID:            ${i.guid}`,
              'DHCP:            Disabled',
              `IPAddress:       ${i.ip}`,
              `NetworkMask:     ${i.netmask}`,
              'IPV6Address:     ',
              'IPV6NetworkMaskPrefixLength: 0',
              `HardwareAddress: 0a:00:27:00:00:0${s.hostonlyifs.indexOf(i)}`,
              'MediumType:      Ethernet',
              'Wireless:        No',
              'Status:          Up',
              `VBoxNetworkName: HostInterfaceNetworking-${i.name}`,
              '',
              '',
            ].join('\n'),
          );
        }
        return;
      }
      if (what === 'dhcpservers') {
        for (const d of s.dhcpservers) {
          process.stdout.write(
            [
              `NetworkName:    ${d.netname}`,
              `Dhcpd IP:       ${d.ip}`,
              `LowerIPAddress: ${d.lowerip}`,
              `UpperIPAddress: ${d.upperip}`,
              `NetworkMask:    ${d.netmask}`,
              `Enabled:        ${d.enabled ? 'Yes' : 'No'}`,
              'Global Configuration:',
              '    minLeaseTime:     default',
              '',
              '',
            ].join('\n'),
          );
        }
        return;
      }
      fail(`Invalid parameter '${what}'`);
      return;
    }
    case 'showvminfo': {
      const vm = vmOf(s, rest[0]);
      save(s);
      process.stdout.write(machineReadable(vm));
      return;
    }
    case 'createvm': {
      const o = Object.fromEntries(options(rest));
      if (!o.name) fail('Parameter --name is required');
      const dir = join(o.basefolder, o.name);
      const cfgFile = join(dir, `${o.name}.vbox`);
      if (existsSync(cfgFile)) fail(`Machine settings file '${cfgFile}' already exists`);
      if (s.vms[o.name]) fail(`A machine named '${o.name}' already exists`);
      mkdirSync(dir, { recursive: true });
      const uuid = randomUUID();
      writeFileSync(
        cfgFile,
        `<?xml version="1.0"?>\n<VirtualBox><Machine uuid="{${uuid}}" name="${o.name}"/></VirtualBox>\n`,
      );
      s.vms[o.name] = {
        name: o.name,
        uuid,
        cfgFile,
        state: 'poweroff',
        changed: new Date().toISOString(),
        settings: {},
        storage: {},
        natpf: [],
        shares: [],
        extradata: {},
        guestproperties: {},
        controllers: {},
        pid: 0,
      };
      save(s);
      process.stdout.write(
        `Virtual machine '${o.name}' is created and registered.\nUUID: ${uuid}\nSettings file: '${cfgFile}'\n`,
      );
      return;
    }
    case 'modifyvm': {
      const vm = vmOf(s, rest[0]);
      locked(vm);
      const list = rest.slice(1);
      for (let i = 0; i < list.length; i++) {
        const opt = list[i].replace(/^--/, '');
        const val = list[i + 1];
        i++;
        if (opt === 'natpf1') {
          if (val === 'delete') {
            const name = list[++i];
            const before = vm.natpf.length;
            vm.natpf = vm.natpf.filter((r) => r.split(',')[0] !== name);
            if (vm.natpf.length === before)
              fail(`Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid argument value`);
          } else {
            const name = val.split(',')[0];
            if (vm.natpf.some((r) => r.split(',')[0] === name))
              fail(`A NAT rule of this name already exists`);
            vm.natpf.push(val);
          }
          continue;
        }
        if (opt === 'memory' && !(Number(val) >= 4))
          fail(`Invalid RAM size: ${val} MB (must be in range [4, 2097152] MB)`);
        vm.settings[opt] = val;
      }
      save(s);
      return;
    }
    case 'storagectl': {
      const vm = vmOf(s, rest[0]);
      const o = Object.fromEntries(options(rest.slice(1)));
      vm.controllers[o.name] = o.add;
      save(s);
      return;
    }
    case 'storageattach': {
      const vm = vmOf(s, rest[0]);
      const o = Object.fromEntries(options(rest.slice(1)));
      if (!vm.controllers[o.storagectl]) fail(`Could not find a controller named '${o.storagectl}'`);
      if (!existsSync(o.medium))
        fail(`Could not find file for the medium '${o.medium}' (VERR_FILE_NOT_FOUND)`);
      vm.storage[o.storagectl] ??= {};
      vm.storage[o.storagectl][o.port] = { type: o.type, medium: o.medium };
      save(s);
      return;
    }
    case 'guestproperty': {
      const [sub, name, key, value] = rest;
      const vm = vmOf(s, name);
      if (sub !== 'set') fail(`Invalid parameter '${sub}'`);
      vm.guestproperties[key] = value;
      save(s);
      return;
    }
    case 'sharedfolder': {
      const [sub, name, ...more] = rest;
      const vm = vmOf(s, name);
      const o = Object.fromEntries(options(more));
      if (sub !== 'add') fail(`Invalid parameter '${sub}'`);
      if (!existsSync(o.hostpath)) fail(`Shared folder path '${o.hostpath}' does not exist on the host`);
      vm.shares.push({ name: o.name, hostpath: o.hostpath, automount: more.includes('--automount') });
      save(s);
      return;
    }
    case 'setextradata': {
      const [name, key, value] = rest;
      const vm = vmOf(s, name);
      vm.extradata[key] = value;
      save(s);
      return;
    }
    case 'startvm': {
      const vm = vmOf(s, rest[0]);
      locked(vm);
      if (!vm.storage || Object.keys(vm.storage).length === 0) fail('No bootable medium found');
      vm.pid = boot(vm);
      vm.state = 'running';
      vm.changed = new Date().toISOString();
      save(s);
      process.stdout.write(
        `Waiting for VM "${vm.name}" to power on...\nVM "${vm.name}" has been successfully started.\n`,
      );
      return;
    }
    case 'controlvm': {
      const [name, action] = rest;
      const vm = vmOf(s, name);
      if (vm.state !== 'running' && vm.state !== 'paused') fail(`Machine '${name}' is not currently running`);
      const sock = join(dirname(vm.cfgFile), 'qmp.sock');
      if (action === 'poweroff') {
        await qmp(sock, 'quit');
        if (!waitGone(vm.pid, 5000)) {
          try {
            process.kill(vm.pid, 'SIGKILL');
          } catch {}
          waitGone(vm.pid, 5000);
        }
        vm.state = 'poweroff';
        vm.pid = 0;
      } else if (action === 'acpipowerbutton') {
        // The guest powers itself off; the state follows when QEMU exits.
        await qmp(sock, 'system_powerdown');
      } else if (action === 'pause') {
        await qmp(sock, 'stop');
        vm.state = 'paused';
      } else if (action === 'resume') {
        await qmp(sock, 'cont');
        vm.state = 'running';
      } else {
        fail(`Invalid parameter '${action}'`);
      }
      vm.changed = new Date().toISOString();
      save(s);
      return;
    }
    case 'unregistervm': {
      const vm = vmOf(s, rest[0]);
      if (vm.state === 'running' || vm.state === 'paused')
        fail(`Cannot unregister the machine '${vm.name}' while it is locked`);
      if (rest.includes('--delete')) {
        for (const ports of Object.values(vm.storage)) {
          for (const m of Object.values(ports)) if (m.type === 'hdd') rmSync(m.medium, { force: true });
        }
        rmSync(dirname(vm.cfgFile), { recursive: true, force: true });
      }
      delete s.vms[vm.name];
      save(s);
      return;
    }
    case 'hostonlyif': {
      const [sub, name, ...more] = rest;
      if (sub === 'create') {
        let n = 0;
        while (s.hostonlyifs.some((i) => i.name === `vboxnet${n}`)) n++;
        s.hostonlyifs.push({ name: `vboxnet${n}`, guid: randomUUID(), ip: '', netmask: '' });
        save(s);
        process.stdout.write(
          `0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\nInterface 'vboxnet${n}' was successfully created\n`,
        );
        return;
      }
      const i = s.hostonlyifs.find((x) => x.name === name);
      if (!i) fail(`Could not find a host interface named '${name}'`);
      if (sub === 'ipconfig') {
        const o = Object.fromEntries(options(more));
        if (!allowed(o.ip, o.netmask)) {
          fail(
            'Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)',
            'Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp',
          );
        }
        i.ip = o.ip;
        i.netmask = o.netmask;
      } else if (sub === 'remove') {
        s.hostonlyifs = s.hostonlyifs.filter((x) => x !== i);
      } else fail(`Invalid parameter '${sub}'`);
      save(s);
      return;
    }
    case 'dhcpserver': {
      const [sub, ...more] = rest;
      const o = Object.fromEntries(options(more.filter((a) => a !== '--enable' && a !== '--disable')));
      const cur = s.dhcpservers.find((d) => d.netname === o.netname);
      const entry = {
        netname: o.netname,
        ip: o.ip,
        netmask: o.netmask,
        lowerip: o.lowerip,
        upperip: o.upperip,
        enabled: more.includes('--enable'),
      };
      if (sub === 'add') {
        if (cur) fail(`DHCP server already exists`);
        s.dhcpservers.push(entry);
      } else if (sub === 'modify') {
        if (!cur) fail(`DHCP server does not exist`);
        Object.assign(cur, entry);
      } else if (sub === 'remove') {
        s.dhcpservers = s.dhcpservers.filter((d) => d !== cur);
      } else fail(`Invalid parameter '${sub}'`);
      save(s);
      return;
    }
    default:
      fail(`Invalid command '${cmd}'`);
  }
}

// One command at a time, as VirtualBox's own server serializes them: a lock on the state file,
// taken over when its holder was killed (older than a command can take).
const lock = `${statePath}.lock`;
for (let i = 0; ; i++) {
  try {
    mkdirSync(lock);
    break;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > 30_000) rmSync(lock, { recursive: true, force: true });
    } catch {}
    if (i > 600) {
      process.stderr.write('VBoxManage: error: The object is not ready\n');
      process.exit(1);
    }
    sleep(100);
  }
}
try {
  await main();
} catch (err) {
  const lines = err instanceof Failure ? err.lines : [err.message];
  process.stderr.write(lines.map((l) => `VBoxManage: error: ${l}\n`).join(''));
  process.exitCode = 1;
} finally {
  rmSync(lock, { recursive: true, force: true });
}
