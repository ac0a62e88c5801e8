import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTestCA } from '../../test/helpers/test-ca.js';
import { findTool } from '../drivers/qemu/host-tool.js';
import { writeSeed } from '../drivers/qemu/seed.js';
import { DROP_IN } from '../provision/systemd-daemon.js';
import { buildHostOptions } from './host-options.js';
import { machineFromConfig } from './machine.js';
import { seedEngine } from './seed-engine.js';

// What a qemu machine's seed carries for its engine: the drop-in that provisioning would write,
// with every engine option of create, --engine-env included, read back from the ISO itself.
const isoTools = findTool('isoinfo') && findTool('genisoimage');

test('the seeded drop-in carries --engine-env, --engine-opt and --engine-label, on the ISO too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'dm-seed-engine-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await makeTestCA(root, 'certs');
  await mkdir(join(root, 'machines', 'q1'), { recursive: true });
  const m = await machineFromConfig({
    ConfigVersion: 3,
    Driver: { MachineName: 'q1', IPAddress: '127.0.0.1', SSHPort: 2222, StorePath: root },
    DriverName: 'qemu',
    HostOptions: buildHostOptions(root, 'q1', {
      engine: { env: ['FOO=bar', 'SP=a b "q" 50%'], opts: ['log-level=warn'], labels: ['team=x'] },
    }),
    Name: 'q1',
  });
  const seeded = await seedEngine(m, {
    ip: '127.0.0.1',
    certSANs: [],
    port: 2376,
    dockerd: '/usr/sbin/dockerd',
    socketActivated: true,
  });
  const dropIn = seeded?.files.find((f) => f.path === DROP_IN);
  assert.ok(dropIn, 'the drop-in is seeded');
  assert.equal(dropIn.mode, '644');
  assert.equal(
    dropIn.content,
    '[Service]\nExecStart=\n' +
      'ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --live-restore --label team=x --label provider=qemu --log-level=warn\n' +
      'Environment="FOO=bar" "SP=a b \\"q\\" 50%%"\n',
  );
  if (!isoTools || !seeded) return t.diagnostic('no genisoimage/isoinfo: the ISO is not read back');
  const iso = await writeSeed(root, {
    hostname: 'q1',
    user: 'docker',
    publicKey: 'ssh-ed25519 AAAA test',
    instanceId: 'i-1',
    engine: seeded,
  });
  const list = execFileSync('isoinfo', ['-R', '-x', '/engine-files', '-i', iso]).toString();
  const entry = list.split('\n').find((l) => l.endsWith(` ${DROP_IN}`));
  assert.ok(entry, list);
  const onIso = execFileSync('isoinfo', ['-R', '-x', `/${entry.split(' ')[0]}`, '-i', iso]).toString();
  assert.equal(onIso, dropIn.content);
});
