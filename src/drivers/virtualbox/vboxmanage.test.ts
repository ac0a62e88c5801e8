import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  addressOfMAC,
  colonMAC,
  createdInterface,
  type Exec,
  errorLines,
  findVBoxManage,
  majorVersion,
  parseBlocks,
  parseMachineReadable,
  parseVMList,
  VBoxCommandError,
  VBoxManage,
  VMNotFoundError,
} from './vboxmanage.js';

test('showvminfo --machinereadable: quoted keys and values, escapes, bare numbers', () => {
  const m = parseMachineReadable(
    [
      'name="m 1"',
      'memory=1024',
      'VMState="running"',
      'macaddress2="080027ABCDEF"',
      'Forwarding(0)="ssh,tcp,127.0.0.1,50022,,22"',
      '"SATA-1-0"="/store/machines/m 1/disk.vmdk"',
      'description="say \\"hi\\" \\\\ bye"',
      'Encryption:     disabled',
      '',
    ].join('\n'),
  );
  assert.equal(m.get('name'), 'm 1');
  assert.equal(m.get('memory'), '1024');
  assert.equal(m.get('VMState'), 'running');
  assert.equal(m.get('Forwarding(0)'), 'ssh,tcp,127.0.0.1,50022,,22');
  assert.equal(m.get('SATA-1-0'), '/store/machines/m 1/disk.vmdk');
  assert.equal(m.get('description'), 'say "hi" \\ bye');
  assert.equal(m.has('Encryption:     disabled'), false);
});

test('list hostonlyifs / dhcpservers blocks, list vms, version, hostonlyif create', () => {
  const blocks = parseBlocks(
    'Name:            vboxnet0\nIPAddress:       192.168.56.1\nNetworkMask:     255.255.255.0\n\nName:            vboxnet1\nIPAddress:       192.168.59.1\nNetworkMask:     255.255.255.0\n\n',
  );
  assert.deepEqual(
    blocks.map((b) => [b.Name, b.IPAddress]),
    [
      ['vboxnet0', '192.168.56.1'],
      ['vboxnet1', '192.168.59.1'],
    ],
  );
  const dhcp = parseBlocks(
    'NetworkName:    HostInterfaceNetworking-vboxnet1\nDhcpd IP:       192.168.59.100\nGlobal Configuration:\n    minLeaseTime:     default\n',
  );
  assert.equal(dhcp[0]['Dhcpd IP'], '192.168.59.100');
  assert.equal(dhcp[0].minLeaseTime, undefined);
  assert.deepEqual(
    parseVMList(
      '"default" {0f5c4e1a-1111-2222-3333-444455556666}\n"a b" {aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}\n',
    ),
    [
      { name: 'default', uuid: '0f5c4e1a-1111-2222-3333-444455556666' },
      { name: 'a b', uuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
    ],
  );
  assert.equal(majorVersion('7.0.14r161095\n'), 7);
  assert.equal(majorVersion('6.1.50_Debianr161033'), 6);
  assert.equal(majorVersion('4.3.40r110317'), 4);
  assert.equal(majorVersion('WARNING: The vboxdrv kernel module is not loaded.'), undefined);
  assert.equal(createdInterface("0%...100%\nInterface 'vboxnet2' was successfully created\n"), 'vboxnet2');
});

test('the address on the NIC with a MAC, from ip addr show', () => {
  const out = [
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
    '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
    '    inet 127.0.0.1/8 scope host lo',
    '2: enp0s3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500',
    '    link/ether 08:00:27:11:22:33 brd ff:ff:ff:ff:ff:ff',
    '    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic enp0s3',
    '3: enp0s8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500',
    '    link/ether 08:00:27:ab:cd:ef brd ff:ff:ff:ff:ff:ff',
    '    inet6 fe80::a00:27ff:feab:cdef/64 scope link',
    '    inet 192.168.59.2/24 brd 192.168.59.255 scope global enp0s8',
  ].join('\n');
  assert.equal(colonMAC('080027ABCDEF'), '08:00:27:ab:cd:ef');
  assert.equal(addressOfMAC(out, '080027ABCDEF'), '192.168.59.2');
  assert.equal(addressOfMAC(out, '080027112233'), '10.0.2.15');
  assert.equal(addressOfMAC(out, '080027000000'), undefined);
  assert.equal(addressOfMAC(out, ''), undefined);
});

test('errors: one line with the command and VirtualBox error lines; a missing VM is its own error', async () => {
  assert.equal(
    errorLines(
      'VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\nVBoxManage: error: Context: "EnableStaticIPConfig()" at line 242 of file VBoxManageHostonly.cpp\n',
    ),
    'Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)',
  );
  const answers: { code: number; stdout: string; stderr: string }[] = [];
  const calls: string[][] = [];
  const exec: Exec = async (_p, args) => {
    calls.push(args);
    return answers.shift() ?? { code: 0, stdout: 'ok\n', stderr: '' };
  };
  const v = new VBoxManage('/fake/VBoxManage', exec, 1);
  answers.push({
    code: 1,
    stdout: '',
    stderr:
      "VBoxManage: error: Could not find a registered machine named 'x'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND\n",
  });
  await assert.rejects(v.run(['showvminfo', 'x', '--machinereadable']), VMNotFoundError);
  answers.push({
    code: 1,
    stdout: '',
    stderr: 'VBoxManage: error: Invalid RAM size: 1 MB\nVBoxManage: error: Context: "x"\n',
  });
  const err = await v.run(['modifyvm', 'm', '--memory', '1']).catch((e) => e);
  assert.ok(err instanceof VBoxCommandError);
  assert.equal(err.message, 'VBoxManage modifyvm m --memory 1 failed: Invalid RAM size: 1 MB');
  assert.equal(err.message.includes('\n'), false);
  answers.push({
    code: 1,
    stdout: '',
    stderr: "VBoxManage: error: Could not find a registered machine named 'gone'\n",
  });
  assert.equal(await v.vmInfo('gone'), undefined);
  assert.equal(calls.at(-1)?.join(' '), 'showvminfo gone --machinereadable');
});

test('"The object is not ready" is asked again, 5 attempts in all', async () => {
  let n = 0;
  const notReady = { code: 1, stdout: '', stderr: 'VBoxManage: error: The object is not ready\n' };
  const exec: Exec = async () => (++n < 3 ? notReady : { code: 0, stdout: 'done\n', stderr: '' });
  assert.equal(await new VBoxManage('x', exec, 1).run(['controlvm', 'm', 'poweroff']), 'done\n');
  assert.equal(n, 3);
  n = 0;
  const always: Exec = async () => {
    n++;
    return notReady;
  };
  await assert.rejects(
    new VBoxManage('x', always, 1).run(['startvm', 'm']),
    /startvm m failed: The object is not ready/,
  );
  assert.equal(n, 5);
});

test('VBoxManage is found by our override, on PATH, or in VBOX_INSTALL_PATH / VBOX_MSI_INSTALL_PATH', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vbox-find-'));
  try {
    const prog = join(dir, 'VBoxManage');
    await writeFile(prog, '#!/bin/sh\n');
    await chmod(prog, 0o755);
    assert.equal(findVBoxManage({ PATH: dir }), prog);
    assert.equal(findVBoxManage({ PATH: '', VBOX_INSTALL_PATH: dir }), prog);
    assert.equal(findVBoxManage({ PATH: '', VBOX_MSI_INSTALL_PATH: dir }), prog);
    assert.equal(findVBoxManage({ PATH: '' }), undefined);
    // The override wins, and a missing override is not replaced by PATH's.
    assert.equal(findVBoxManage({ PATH: dir, MACHINE_VBOXMANAGE: prog }), prog);
    assert.equal(findVBoxManage({ PATH: dir, MACHINE_VBOXMANAGE: join(dir, 'nope') }), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
