import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { retiredDriverNames } from '../../src/api/drivers.js';
import { retiredMessage } from '../../src/drivers/retired/index.js';
import { type CliStore, tempStore } from '../helpers/cli.js';

// The original's drivers whose service or product is gone: create answers in one line what to
// use instead, and machines an older store holds stay listed, untouched, and removable with -f.
describe('retired drivers', () => {
  let s: CliStore;
  before(async () => {
    s = await tempStore();
  });
  after(async () => s?.cleanup());

  test('the three names of the original are known', () => {
    assert.deepEqual(retiredDriverNames(), ['softlayer', 'vmwarefusion', 'vmwarevcloudair']);
  });

  const withFlags: Record<string, string[]> = {
    softlayer: [
      '--softlayer-domain',
      'example.com',
      '--softlayer-api-key',
      'k-123456',
      '--softlayer-cpu',
      '2',
    ],
    vmwarevcloudair: [
      '--vmwarevcloudair-username',
      'u',
      '--vmwarevcloudair-vdcid',
      'v',
      '--vmwarevcloudair-docker-port',
      '2377',
    ],
    vmwarefusion: ['--vmwarefusion-memory-size', '2048', '--vmwarefusion-no-share'],
  };
  for (const [driver, flags] of Object.entries(withFlags)) {
    test(`create -d ${driver}, with the original's flags: one line, exit 1, nothing made`, async () => {
      const r = await s.run(['create', '-d', driver, ...flags, `old-${driver}`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `${retiredMessage(driver)}\n`);
      assert.equal(r.stdout, '');
      assert.deepEqual(existsSync(join(s.dir, 'machines')) ? await readdir(join(s.dir, 'machines')) : [], []);
      const help = await s.run(['create', '-d', driver, '--help']);
      assert.equal(help.code, 0);
      for (const f of flags.filter((x) => x.startsWith('--')))
        assert.match(help.stdout, new RegExp(`${f}\\s`));
    });
  }

  test('create --help names the retired drivers; an unknown driver is still not found', async () => {
    const help = await s.run(['create', '--help']);
    assert.match(
      help.stdout,
      /\nRetired \(create says what to use instead\): softlayer, vmwarefusion, vmwarevcloudair\n/,
    );
    const r = await s.run(['create', '-d', 'vmwarefusionx', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Driver "vmwarefusionx" not found\. Available drivers: .*\n$/);
    assert.doesNotMatch(r.stderr, /softlayer/);
  });

  test('a softlayer machine of an older store: listed, untouched, refused by rm, removed by rm -f', async () => {
    const made = await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'sl1']);
    assert.equal(made.code, 0, made.stderr);
    const path = join(s.dir, 'machines', 'sl1', 'config.json');
    const config = JSON.parse(await readFile(path, 'utf8'));
    config.DriverName = 'softlayer';
    config.Driver = {
      IPAddress: '127.0.0.1',
      MachineName: 'sl1',
      SSHUser: 'root',
      SSHPort: 22,
      SSHKeyPath: join(s.dir, 'machines', 'sl1', 'id_rsa'),
      StorePath: s.dir,
      Id: 31337,
      Client: null,
      deviceConfig: {
        User: 'someone',
        ApiKey: 'sl-api-key-0123',
        Domain: 'example.com',
        Region: 'dal01',
        Cpu: 1,
        Memory: 1024,
        HourlyBilling: true,
      },
    };
    const raw = JSON.stringify(config, null, 4);
    await writeFile(path, raw);

    const ls = await s.run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.URL}}']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, 'sl1 softlayer tcp://127.0.0.1:2376\n');
    const inspect = await s.run([
      'inspect',
      '--format',
      '{{.Driver.Id}} {{.Driver.deviceConfig.Region}}',
      'sl1',
    ]);
    assert.equal(inspect.stdout, '31337 dal01\n');
    const whole = await s.run(['inspect', 'sl1']);
    // Go's encoder, as the original's inspect, escapes < and >.
    assert.match(whole.stdout, /"ApiKey": "\\u003cREDACTED\\u003e"/);
    assert.doesNotMatch(whole.stdout, /sl-api-key-0123/);

    const line =
      "the softlayer driver is retired and cannot reach this machine; manage the server with its provider's tools, and 'docker-machine rm -f sl1' removes it from the store";
    const stop = await s.run(['stop', 'sl1']);
    assert.equal(stop.code, 1);
    assert.match(stop.stderr, new RegExp(`${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
    const rm = await s.run(['rm', '-y', 'sl1']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /Error removing host "sl1": the softlayer driver is retired/);
    assert.equal(await readFile(path, 'utf8'), raw, 'no command rewrote the machine');

    const rmf = await s.run(['rm', '-f', '-y', 'sl1']);
    assert.equal(rmf.code, 0, rmf.stderr);
    assert.match(rmf.stdout, /Successfully removed sl1/);
    assert.equal(existsSync(join(s.dir, 'machines', 'sl1')), false);
  });
});
