import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { after, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { processRuns } from '../../src/process-alive.js';
import { startVcsim, type Vcsim, vcsimSkipReason } from '../helpers/vcsim.js';

/**
 * The vCenter simulator the vmwarevsphere driver is tested against: raw SOAP over verified TLS,
 * as the driver speaks it, proves what the harness promises (its login only, the guest address
 * hook, the power events, a clean close).
 */
const skip = vcsimSkipReason();

interface SoapReply {
  status: number;
  body: string;
  cookie?: string;
  fingerprint: string;
}

function soap(vc: Vcsim, call: string, cookie?: string): Promise<SoapReply> {
  const envelope =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<soapenv:Body>${call}</soapenv:Body></soapenv:Envelope>`;
  return new Promise((resolve, reject) => {
    const req = request(
      vc.url,
      {
        method: 'POST',
        ca: vc.caPem,
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          soapaction: 'urn:vim25/7.0',
          ...(cookie ? { cookie } : {}),
        },
        timeout: 15_000,
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          const set = res.headers['set-cookie']?.find((c) => c.startsWith('vmware_soap_session='));
          resolve({ status: res.statusCode ?? 0, body, cookie: set?.split(';')[0], fingerprint });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no SOAP answer in 15 s')));
    req.on('error', reject);
    req.end(envelope);
  });
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const mo = (tag: string, type: string, id: string) => `<${tag} type="${type}">${esc(id)}</${tag}>`;

/** The text of the first element named `name` in `xml`. */
function text(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}(?:\\s[^>]*)?>([^<]*)</${name}>`).exec(xml)?.[1];
}

/** A session of the test's own: logs in, then sends calls with its cookie. */
async function session(vc: Vcsim) {
  const content = (
    await soap(
      vc,
      `<RetrieveServiceContent xmlns="urn:vim25">${mo('_this', 'ServiceInstance', 'ServiceInstance')}</RetrieveServiceContent>`,
    )
  ).body;
  const sessionManager = text(content, 'sessionManager')!;
  const propertyCollector = text(content, 'propertyCollector')!;
  const searchIndex = text(content, 'searchIndex')!;
  const login = await soap(
    vc,
    `<Login xmlns="urn:vim25">${mo('_this', 'SessionManager', sessionManager)}<userName>${esc(vc.username)}</userName><password>${esc(vc.password)}</password></Login>`,
  );
  assert.equal(login.status, 200, login.body);
  assert.ok(login.cookie, 'Login sets the vmware_soap_session cookie');
  const call = async (body: string) => {
    const r = await soap(vc, body, login.cookie);
    assert.equal(r.status, 200, r.body);
    return r.body;
  };
  const find = async (path: string) => {
    const r = await call(
      `<FindByInventoryPath xmlns="urn:vim25">${mo('_this', 'SearchIndex', searchIndex)}<inventoryPath>${esc(path)}</inventoryPath></FindByInventoryPath>`,
    );
    const id = text(r, 'returnval');
    assert.ok(id, `${path} is in the inventory`);
    return id;
  };
  /** Property values of one object, by property path, as raw XML. */
  const props = async (type: string, id: string, paths: string[]) => {
    const r = await call(
      `<RetrievePropertiesEx xmlns="urn:vim25">${mo('_this', 'PropertyCollector', propertyCollector)}<specSet><propSet><type>${type}</type>${paths.map((p) => `<pathSet>${p}</pathSet>`).join('')}</propSet><objectSet>${mo('obj', type, id)}</objectSet></specSet><options></options></RetrievePropertiesEx>`,
    );
    const out: Record<string, string> = {};
    for (const m of r.matchAll(/<propSet><name>([^<]+)<\/name>([\s\S]*?)<\/propSet>/g)) out[m[1]!] = m[2]!;
    return out;
  };
  const waitTask = async (reply: string) => {
    const task = text(reply, 'returnval')!;
    for (let i = 0; i < 100; i++) {
      const p = await props('Task', task, ['info.state', 'info.result', 'info.error']);
      const state = text(p['info.state'] ?? '', 'val');
      if (state === 'success') return text(p['info.result'] ?? '', 'val');
      if (state === 'error') throw new Error(`task ${task} failed: ${p['info.error']}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`task ${task} did not finish in 10 s`);
  };
  const vmCall = async (method: string, vm: string, extra = '') =>
    waitTask(
      await call(`<${method} xmlns="urn:vim25">${mo('_this', 'VirtualMachine', vm)}${extra}</${method}>`),
    );
  return { content, cookie: login.cookie, call, find, props, waitTask, vmCall };
}

const nic = (network: string) =>
  '<deviceChange><operation>add</operation><device xsi:type="VirtualVmxnet3"><key>-1</key>' +
  `<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>${esc(network)}</deviceName></backing>` +
  '<addressType>generated</addressType></device></deviceChange>';

const GUEST = [
  'runtime.powerState',
  'guest.net',
  'guest.ipAddress',
  'guest.toolsRunningStatus',
  'summary.guest.ipAddress',
  'summary.guest.toolsRunningStatus',
];

/** The addresses in guest.net[].ipConfig.ipAddress, which WaitForNetIP-style clients wait for. */
const ipConfigAddresses = (guestNet: string) =>
  [...(guestNet.matchAll(/<ipConfig>([\s\S]*?)<\/ipConfig>/g) ?? [])].flatMap((m) =>
    [...m[1]!.matchAll(/<ipAddress><ipAddress>([^<]+)<\/ipAddress>/g)].map((a) => a[1]!),
  );

describe('vCenter simulator harness', { skip, timeout: 600_000 }, () => {
  const started: Vcsim[] = [];
  after(async () => {
    for (const vc of started) await vc.close();
  });

  test('serves the vSphere API over TLS with its own certificate and refuses any other login', async () => {
    const vc = await startVcsim();
    started.push(vc);
    assert.match(vc.url, /^https:\/\/127\.0\.0\.1:\d+\/sdk$/);

    const content = await soap(
      vc,
      `<RetrieveServiceContent xmlns="urn:vim25">${mo('_this', 'ServiceInstance', 'ServiceInstance')}</RetrieveServiceContent>`,
    );
    assert.equal(content.status, 200, content.body);
    assert.equal(text(content.body, 'apiType'), 'VirtualCenter');
    // The request verified the server against caPem; the thumbprint names the same certificate.
    assert.equal(content.fingerprint, vc.thumbprint);

    const sm = text(content.body, 'sessionManager')!;
    for (const [user, password] of [
      [vc.username, 'wrong'],
      ['someone-else', vc.password],
    ]) {
      const r = await soap(
        vc,
        `<Login xmlns="urn:vim25">${mo('_this', 'SessionManager', sm)}<userName>${esc(user!)}</userName><password>${esc(password!)}</password></Login>`,
      );
      assert.equal(r.status, 500, `login as ${user} with a wrong password must fail: ${r.body}`);
      assert.match(r.body, /InvalidLogin/);
      assert.equal(r.cookie, undefined);
    }
    const unauthenticated = await soap(
      vc,
      `<FindByInventoryPath xmlns="urn:vim25">${mo('_this', 'SearchIndex', text(content.body, 'searchIndex')!)}<inventoryPath>DC0</inventoryPath></FindByInventoryPath>`,
    );
    assert.match(unauthenticated.body, /NotAuthenticated/);

    const s = await session(vc);
    assert.deepEqual(
      { dc: vc.inventory.datacenter, hosts: vc.inventory.hosts, ds: vc.inventory.datastores },
      { dc: 'DC0', hosts: ['DC0_H0'], ds: ['LocalDS_0'] },
    );
    assert.ok(vc.inventory.networks.includes('VM Network'));
    await s.find('DC0/vm');
    await s.find('DC0/datastore/LocalDS_0');
    await s.find('DC0/network/VM Network');
    // One compute resource: the pool the original falls back to (DefaultResourcePool) is unique.
    await s.find('DC0/host/DC0_H0/Resources');
  });

  test("a powered-on VM's guest reports the test's address through Tools; power events are recorded", async () => {
    const vc = await startVcsim();
    started.push(vc);
    const s = await session(vc);
    const folder = await s.find('DC0/vm');
    const pool = await s.find('DC0/host/DC0_H0/Resources');
    const name = 'dm-harness-1';
    // Chosen before the VM exists, as a host test does before `create`.
    assert.deepEqual(await vc.setGuestIp(name, '172.30.9.5'), { applied: false });

    const vm = await s.waitTask(
      await s.call(
        `<CreateVM_Task xmlns="urn:vim25">${mo('_this', 'Folder', folder)}<config><name>${name}</name>` +
          '<guestId>otherLinux64Guest</guestId><files><vmPathName>[LocalDS_0]</vmPathName></files>' +
          `<numCPUs>1</numCPUs><memoryMB>512</memoryMB>${nic('VM Network')}</config>` +
          `${mo('pool', 'ResourcePool', pool)}</CreateVM_Task>`,
      ),
    );
    assert.ok(vm);
    assert.deepEqual(await vc.waitForEvent((e) => e.event === 'created' && e.vm === name, 5_000), {
      event: 'created',
      vm: name,
      id: vm,
    });
    let p = await s.props('VirtualMachine', vm, GUEST);
    assert.equal(text(p['runtime.powerState']!, 'val'), 'poweredOff');
    assert.deepEqual(ipConfigAddresses(p['guest.net'] ?? ''), [], 'no address before power-on');

    await s.vmCall('PowerOnVM_Task', vm);
    const on = await vc.waitForEvent((e) => e.event === 'poweredOn' && e.vm === name, 5_000);
    assert.deepEqual(on.ips, ['172.30.9.5']);
    // Set before the power-on task completes: a client waiting after it sees it at once.
    p = await s.props('VirtualMachine', vm, GUEST);
    assert.equal(text(p['runtime.powerState']!, 'val'), 'poweredOn');
    assert.deepEqual(ipConfigAddresses(p['guest.net']!), ['172.30.9.5']);
    assert.equal(text(p['guest.ipAddress']!, 'val'), '172.30.9.5');
    assert.equal(text(p['summary.guest.ipAddress']!, 'val'), '172.30.9.5');
    assert.equal(text(p['guest.toolsRunningStatus']!, 'val'), 'guestToolsRunning');
    assert.equal(text(p['summary.guest.toolsRunningStatus']!, 'val'), 'guestToolsRunning');
    assert.match(p['guest.net']!, /<macAddress>[0-9a-f:]{17}<\/macAddress>/);

    // A change while it runs shows at once.
    assert.deepEqual(await vc.setGuestIp(name, ['172.30.9.6']), { applied: true });
    p = await s.props('VirtualMachine', vm, GUEST);
    assert.deepEqual(ipConfigAddresses(p['guest.net']!), ['172.30.9.6']);
    assert.equal(text(p['summary.guest.ipAddress']!, 'val'), '172.30.9.6');

    await s.vmCall('PowerOffVM_Task', vm);
    await vc.waitForEvent((e) => e.event === 'poweredOff' && e.vm === name, 5_000);
    p = await s.props('VirtualMachine', vm, GUEST);
    assert.deepEqual(ipConfigAddresses(p['guest.net'] ?? ''), [], 'a powered-off guest reports no address');
    assert.notEqual(text(p['guest.toolsRunningStatus']!, 'val'), 'guestToolsRunning');
    assert.deepEqual(await vc.vms(), [{ name, id: vm, powerState: 'poweredOff', template: false, ips: [] }]);

    await s.vmCall('Destroy_Task', vm);
    await vc.waitForEvent((e) => e.event === 'destroyed' && e.vm === name, 5_000);
    assert.deepEqual(await vc.vms(), []);
    assert.deepEqual(
      vc.events.map((e) => e.event),
      ['created', 'poweredOn', 'poweredOff', 'destroyed'],
    );
  });

  test('the cluster shape: a child pool, a datastore cluster, a template whose clones take pool addresses', async () => {
    const vc = await startVcsim({
      shape: 'cluster',
      templates: ['dm-template'],
      vmFolder: 'dm-machines',
      ipPool: ['172.30.9.20', '172.30.9.21'],
    });
    started.push(vc);
    assert.equal(vc.inventory.cluster, 'DC0_C0');
    assert.equal(vc.inventory.pool, 'Resources/DC0_C0_RP1');
    assert.equal(vc.inventory.datastoreCluster, 'DC0_POD0');
    assert.deepEqual(vc.inventory.templates, ['dm-template']);
    const s = await session(vc);
    const pod = await s.find('DC0/datastore/DC0_POD0');
    const children = (await s.props('StoragePod', pod, ['childEntity']))['childEntity']!;
    assert.equal([...children.matchAll(/type="Datastore"/g)].length, 2, children);
    const pool = await s.find('DC0/host/DC0_C0/Resources/DC0_C0_RP1');
    const folder = await s.find('DC0/vm/dm-machines');
    const template = await s.find('DC0/vm/dm-template');
    assert.equal(
      text((await s.props('VirtualMachine', template, ['config.template']))['config.template']!, 'val'),
      'true',
    );

    const clones: string[] = [];
    for (const name of ['dm-clone-a', 'dm-clone-b']) {
      clones.push(
        (await s.waitTask(
          await s.call(
            `<CloneVM_Task xmlns="urn:vim25">${mo('_this', 'VirtualMachine', template)}${mo('folder', 'Folder', folder)}` +
              `<name>${name}</name><spec><location>${mo('pool', 'ResourcePool', pool)}</location>` +
              '<template>false</template><powerOn>false</powerOn></spec></CloneVM_Task>',
          ),
        ))!,
      );
      // The 0.24 simulator ignores spec.powerOn; a driver powers on after reconfiguring anyway.
      await s.vmCall('PowerOnVM_Task', clones.at(-1)!);
    }
    const addresses = [];
    for (const vm of clones) {
      const p = await s.props('VirtualMachine', vm, GUEST);
      assert.equal(text(p['runtime.powerState']!, 'val'), 'poweredOn');
      addresses.push(...ipConfigAddresses(p['guest.net']!));
    }
    assert.deepEqual(addresses, ['172.30.9.20', '172.30.9.21']);

    // A VM keeps its pool address across power cycles.
    await s.vmCall('PowerOffVM_Task', clones[0]!);
    await s.vmCall('PowerOnVM_Task', clones[0]!);
    const again = await s.props('VirtualMachine', clones[0]!, GUEST);
    assert.deepEqual(ipConfigAddresses(again['guest.net']!), ['172.30.9.20']);
  });

  test('close ends the simulator process and removes its files', async () => {
    const vc = await startVcsim();
    assert.ok(processRuns(vc.pid));
    assert.ok(existsSync(vc.inventory.datastoreDirs['LocalDS_0']!));
    assert.ok(vc.inventory.datastoreDirs['LocalDS_0']!.startsWith(`${vc.dir}/`));
    await vc.close();
    assert.equal(processRuns(vc.pid), false, `vcsim pid ${vc.pid} still runs after close`);
    assert.equal(existsSync(vc.dir), false, `${vc.dir} is still there`);
  });
});
