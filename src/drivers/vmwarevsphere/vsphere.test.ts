import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FlagValue, ParsedFlags } from '../../flags/def.js';
import { isGone, isRefusal } from '../cloud/errors.js';
import { ledgerOf } from '../cloud/ledger.js';
import { flags } from './flags.js';
import { guestAddress } from './guest.js';
import { guestId, machineState, vmwarevsphereDriver } from './index.js';
import { items, moRef } from './soap/client.js';
import { el, envelope, optionValue, ref, val } from './soap/envelope.js';
import { methodFault, soapFault } from './soap/fault.js';
import { child, childText, escapeXML, parseXML, XMLParseError, xsiType } from './soap/xml.js';
import { cloneArgs, cloneReconfig, isNIC, newVMConfig } from './spec.js';
import { guestinfo, multipart } from './userdata.js';

const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const answer = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope ${NS}><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe('vim25 XML', () => {
  test('escapes the five special characters in text and attributes', () => {
    assert.equal(escapeXML(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
    assert.equal(val('password', 'p<&>"w'), '<password>p&lt;&amp;&gt;&quot;w</password>');
  });

  test('an envelope: method in urn:vim25, _this a typed reference, XML that parses back', () => {
    const x = envelope('Login', { type: 'SessionManager', value: 'SessionManager' }, val('userName', 'a&b'));
    const doc = parseXML(x);
    const m = child(child(doc, 'Body'), 'Login');
    assert.equal(m?.attrs.xmlns, 'urn:vim25');
    assert.deepEqual(moRef(child(m, '_this')), { type: 'SessionManager', value: 'SessionManager' });
    assert.equal(childText(m, 'userName'), 'a&b');
  });

  test('parses a RetrievePropertiesEx answer as vSphere writes it: prefixes, xsi:type, entities, CDATA, arrays', () => {
    const doc = parseXML(
      answer(
        '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-42</obj>' +
          '<propSet><name>name</name><val xsi:type="xsd:string">a &amp; b &#x41;&#66;</val></propSet>' +
          '<propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet>' +
          '<propSet><name>config.extraConfig</name><val xsi:type="ArrayOfOptionValue">' +
          '<OptionValue xsi:type="OptionValue"><key>docker-machine.id</key><value xsi:type="xsd:string">abc</value></OptionValue>' +
          '<OptionValue xsi:type="OptionValue"><key>k2</key><value xsi:type="xsd:string"><![CDATA[<raw>]]></value></OptionValue>' +
          '</val></propSet></objects><token>t1</token></returnval></RetrievePropertiesExResponse>',
      ),
    );
    const rv = child(child(child(doc, 'Body'), 'RetrievePropertiesExResponse'), 'returnval');
    const obj = child(rv, 'objects');
    assert.deepEqual(moRef(child(obj, 'obj')), { type: 'VirtualMachine', value: 'vm-42' });
    const props = obj?.children.filter((c) => c.name === 'propSet') ?? [];
    assert.equal(child(props[0], 'val')?.text, 'a & b AB');
    assert.equal(xsiType(child(props[1], 'val')), 'VirtualMachinePowerState');
    const opts = items(child(props[2], 'val'));
    assert.deepEqual(
      opts.map((o) => [childText(o, 'key'), childText(o, 'value')]),
      [
        ['docker-machine.id', 'abc'],
        ['k2', '<raw>'],
      ],
    );
    assert.equal(childText(rv, 'token'), 't1');
  });

  test('refuses what is not well formed', () => {
    for (const bad of ['<a><b></a>', '<a>', 'text', '<a></a><b></b>', '<a x="1></a>'])
      assert.throws(() => parseXML(bad), XMLParseError, bad);
  });
});

describe('vim25 faults', () => {
  const fault = (detail: string, msg: string) => {
    const f = child(
      child(
        parseXML(
          answer(
            `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${msg}</faultstring><detail>${detail}</detail></soapenv:Fault>`,
          ),
        ),
        'Body',
      ),
      'Fault',
    );
    assert.ok(f);
    return f;
  };
  test('a SOAP Fault becomes a typed error with its type and message; gone and refused as the cloud layer reads them', () => {
    const login = soapFault(
      fault(
        '<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault>',
        'Login failure',
      ),
    );
    assert.equal(login.code, 'InvalidLogin');
    assert.equal(login.message, 'vSphere API: InvalidLogin: Login failure (HTTP 400)');
    assert.ok(isRefusal(login));
    const gone = soapFault(
      fault(
        '<ManagedObjectNotFoundFault xmlns="urn:vim25"><obj type="VirtualMachine">vm-9</obj></ManagedObjectNotFoundFault>',
        'gone',
      ),
    );
    assert.equal(gone.code, 'ManagedObjectNotFound');
    assert.ok(isGone(gone));
    const other = soapFault(fault('<SystemErrorFault xsi:type="SystemError"/>', 'boom'));
    assert.ok(!isRefusal(other) && !isGone(other));
  });

  test("a task's info.error (LocalizedMethodFault)", () => {
    const lmf = parseXML(
      '<error><fault xsi:type="FileNotFound"><file>[ds] m1/boot2docker.iso</file></fault><localizedMessage>File [ds] m1/boot2docker.iso was not found</localizedMessage></error>',
    );
    const f = methodFault(lmf);
    assert.equal(f.code, 'FileNotFound');
    assert.match(f.message, /File \[ds\] m1\/boot2docker.iso was not found/);
    assert.ok(isGone(f));
  });
});

describe('VM specs', () => {
  const net = {
    kind: 'network' as const,
    deviceName: 'VM Network',
    network: { type: 'Network', value: 'network-7' },
  };
  test("a new VM: the original's shape (pvscsi, thin disk of DiskSize MB, vmxnet3 per network) and guestinfo", () => {
    const x = newVMConfig({
      name: 'm<1>',
      guestId: 'otherLinux64Guest',
      datastoreName: 'LocalDS_0',
      numCPUs: 2,
      memoryMB: 2048,
      diskMB: 20480,
      networks: [net],
      extra: [['guestinfo.userdata', 'abc']],
    });
    const c = parseXML(x);
    assert.deepEqual(
      c.children.map((n) => n.name),
      [
        'name',
        'guestId',
        'files',
        'numCPUs',
        'memoryMB',
        'deviceChange',
        'deviceChange',
        'deviceChange',
        'extraConfig',
      ],
      "the WSDL's element order",
    );
    assert.equal(childText(c, 'name'), 'm<1>');
    assert.equal(childText(child(c, 'files'), 'vmPathName'), '[LocalDS_0]');
    const devs = c.children.filter((n) => n.name === 'deviceChange').map((d) => child(d, 'device'));
    assert.deepEqual(devs.map(xsiType), ['ParaVirtualSCSIController', 'VirtualDisk', 'VirtualVmxnet3']);
    assert.equal(childText(devs[1], 'capacityInKB'), String(20480 * 1024));
    assert.equal(childText(child(devs[2], 'backing'), 'deviceName'), 'VM Network');
    assert.equal(xsiType(child(child(c, 'extraConfig'), 'value')), 'string');
  });

  test('a clone: location, powered off, guestinfo; the reconfiguration grows the disk, never shrinks it, and swaps NICs only when networks are given', () => {
    const a = parseXML(
      `<x>${cloneArgs({ folder: { type: 'Folder', value: 'f1' }, name: 'm1', datastore: { type: 'Datastore', value: 'ds1' }, pool: { type: 'ResourcePool', value: 'p1' }, extra: [['k', 'v']] })}</x>`,
    );
    const spec = child(a, 'spec');
    assert.deepEqual(
      spec?.children.map((n) => n.name),
      ['location', 'template', 'config', 'powerOn'],
    );
    assert.equal(childText(spec, 'powerOn'), 'false');
    const devices = [
      {
        key: 2000,
        type: 'VirtualDisk',
        controllerKey: 1000,
        unitNumber: 0,
        capacityInKB: 10 * 1024 * 1024,
        fileName: '[ds] m1/m1.vmdk',
      },
      { key: 4000, type: 'VirtualVmxnet3' },
    ];
    const grow = parseXML(
      cloneReconfig({ numCPUs: 4, memoryMB: 4096, diskMB: 20480, devices, networks: [] }),
    );
    const changes = grow.children.filter((n) => n.name === 'deviceChange');
    assert.deepEqual(
      changes.map((c) => childText(c, 'operation')),
      ['edit'],
    );
    assert.equal(childText(child(changes[0], 'device'), 'capacityInKB'), String(20480 * 1024));
    const same = parseXML(
      cloneReconfig({ numCPUs: 1, memoryMB: 512, diskMB: 1024, devices, networks: [net] }),
    );
    assert.deepEqual(
      same.children
        .filter((n) => n.name === 'deviceChange')
        .map((c) => `${childText(c, 'operation')} ${xsiType(child(c, 'device'))}`),
      ['remove VirtualVmxnet3', 'add VirtualVmxnet3'],
    );
    assert.ok(isNIC('VirtualE1000e') && isNIC('VirtualVmxnet3') && !isNIC('VirtualDisk'));
  });

  test('envelope helpers', () => {
    assert.equal(ref('obj', { type: 'A', value: 'b&' }), '<obj type="A">b&amp;</obj>');
    assert.equal(el('e', [val('a', 1), undefined, [val('b', true)]]), '<e><a>1</a><b>true</b></e>');
    assert.equal(
      optionValue('extraConfig', 'k', 'v'),
      '<extraConfig xsi:type="OptionValue"><key>k</key><value xsi:type="xsd:string">v</value></extraConfig>',
    );
  });
});

describe('guest', () => {
  const net = (xml: string) => parseXML(`<val>${xml}</val>`);
  test("Tools' address: a global-unicast IPv4 that is not Docker's bridge, from ipConfig or the address list", () => {
    assert.equal(guestAddress(undefined), '');
    assert.equal(
      guestAddress(
        net(
          '<GuestNicInfo><macAddress>00:50:56:aa:bb:cc</macAddress><ipAddress>fe80::1</ipAddress><ipAddress>172.17.0.1</ipAddress>' +
            '<ipConfig><ipAddress><ipAddress>169.254.3.4</ipAddress></ipAddress><ipAddress><ipAddress>10.1.2.3</ipAddress></ipAddress></ipConfig></GuestNicInfo>',
        ),
      ),
      '10.1.2.3',
    );
    assert.equal(
      guestAddress(
        net(
          '<GuestNicInfo><ipAddress>127.0.0.1</ipAddress><ipAddress>192.168.5.6</ipAddress></GuestNicInfo>',
        ),
      ),
      '192.168.5.6',
    );
    assert.equal(guestAddress(net('<GuestNicInfo><ipAddress>172.17.0.1</ipAddress></GuestNicInfo>')), '');
  });

  test('power states as the original mapped them; guest ids', () => {
    assert.equal(machineState('poweredOn'), 'Running');
    assert.equal(machineState('poweredOff'), 'Stopped');
    assert.equal(machineState('suspended'), '');
    assert.equal(guestId('linux'), 'otherLinux64Guest');
    assert.equal(guestId('debian12_64Guest'), 'debian12_64Guest');
  });

  test("guestinfo: cloud-init's VMware datasource keys, base64, with the user and key; the original's cloudinit URL key", async () => {
    const kv = new Map(
      await guestinfo({
        hostname: 'm1',
        user: 'docker',
        publicKey: 'ssh-rsa AAAAB3Nza m1',
        instanceId: 'docker-machine-m1-ab',
        cloudInit: 'https://example.invalid/ci.yaml',
      }),
    );
    assert.equal(kv.get('guestinfo.userdata.encoding'), 'base64');
    assert.equal(kv.get('guestinfo.metadata.encoding'), 'base64');
    const ud = Buffer.from(kv.get('guestinfo.userdata') ?? '', 'base64').toString();
    assert.match(ud, /^#cloud-config\n/);
    assert.match(ud, /name: "docker"/);
    assert.match(ud, /- "ssh-rsa AAAAB3Nza m1"/);
    assert.match(
      Buffer.from(kv.get('guestinfo.metadata') ?? '', 'base64').toString(),
      /local-hostname: "m1"/,
    );
    assert.equal(kv.get('guestinfo.cloud-init.config.url'), 'https://example.invalid/ci.yaml');
    const mp = multipart(['#cloud-config\na: 1', '#cloud-config\nb: 2\n'], 'B');
    assert.equal(mp.split('--B\n').length, 3);
    assert.match(mp, /--B--\n$/);
  });
});

describe('flags', () => {
  const base = {
    IPAddress: '',
    MachineName: 'm1',
    SSHUser: '',
    SSHPort: 0,
    SSHKeyPath: '',
    StorePath: '/store',
    SwarmMaster: false,
    SwarmHost: '',
    SwarmDiscovery: '',
  };
  const parsed = (given: Record<string, FlagValue>): ParsedFlags => {
    const values = new Map<string, FlagValue>();
    for (const f of flags)
      values.set(f.name, f.default ?? (f.kind === 'bool' ? false : f.kind === 'stringSlice' ? [] : ''));
    for (const [k, v] of Object.entries(given)) values.set(`vmwarevsphere-${k}`, v);
    return { values, explicit: new Set(Object.keys(given).map((k) => `vmwarevsphere-${k}`)) };
  };
  const login = { vcenter: 'vc.example', username: 'u', password: 'p' };
  const make = (given: Record<string, FlagValue>) => vmwarevsphereDriver.fromFlags(base, parsed(given));

  test("the original's defaults and field names; creation type template with a clone source, else legacy", () => {
    const j = make({ ...login }).toJSON();
    assert.equal(j.CreationType, 'legacy');
    assert.deepEqual(
      [j.IP, j.Port, j.Username, j.CPU, j.Memory, j.DiskSize, j.SSHUser, j.SSHPort, j.Insecure],
      ['vc.example', 443, 'u', 2, 2048, 20480, 'docker', 22, false],
    );
    assert.equal(make({ ...login, 'clone-from': 't1' }).toJSON().CreationType, 'template');
    assert.match(String(make({ ...login }).toJSON().MachineID), /^[0-9a-f]{10}$/);
    const url = make({ ...login, vcenter: 'https://vc.example:8443/sdk' }).toJSON();
    assert.deepEqual([url.IP, url.Port], ['vc.example', 8443]);
  });

  test('bad flags: one line naming the flag', () => {
    const cases: [Record<string, FlagValue>, RegExp][] = [
      [{}, /vSphere URL is missing: give --vmwarevsphere-vcenter HOST/],
      [{ vcenter: 'vc' }, /vSphere username or password is missing/],
      [
        { ...login, 'creation-type': 'ovf' },
        /--vmwarevsphere-creation-type ovf: give one of vm, template, library, legacy/,
      ],
      [
        { ...login, 'creation-type': 'legacy', 'clone-from': 't' },
        /--vmwarevsphere-clone-from needs --vmwarevsphere-creation-type template, vm or library/,
      ],
      [{ ...login, cfgparam: ['novalue'] }, /--vmwarevsphere-cfgparam novalue: give key=value/],
      [{ ...login, 'cpu-count': 0 }, /--vmwarevsphere-cpu-count 0: give at least 1/],
    ];
    for (const [given, want] of cases) assert.throws(() => make(given), want);
  });

  test('a machine of the original (no ledger): rm looks for its VM by name and its boot2docker.iso', () => {
    const d = vmwarevsphereDriver.fromJSON({
      ...base,
      IP: 'vc',
      Datastore: 'ds1',
      Datacenter: '',
      Folder: '',
    });
    assert.deepEqual(
      ledgerOf(d.toJSON()).map((e) => [e.kind, e.find.by, e.find.value]),
      [
        ['original_iso', 'path', '[ds1] m1/boot2docker.iso'],
        ['vm', 'original', 'm1'],
      ],
    );
  });
});
