import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { filters } from '../../src/drivers/amazonec2/ec2.js';
import { list, obj, text } from '../../src/drivers/amazonec2/xml.js';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { Moto, TEST_AMIS } from '../fakes/amazonec2/moto.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { createFleet, savedDriver } from '../helpers/cloud-fake.js';
import { killCreateAt } from '../helpers/kill-at.js';

/**
 * The amazonec2 driver against moto_server (started here; a machine without it fails this suite
 * with the reason). No test host: the subnet is a loopback range, so the instance's private
 * address is 127.0.5.x and the SSH port given is 1, which refuses at once: nothing leaves this
 * computer. What happens over SSH is amazonec2-host.test.ts's.
 */
const SECRET = 'moto-secret-key-0123456789';
const AMI = 'ami-12c6146b';
const EMPTY = { instances: [], keys: [], groups: [], spot: [] };

describe('amazonec2 driver against moto_server', { timeout: 15 * 60_000 }, () => {
  const moto = new Moto();
  let s: CliStore;
  let home: string;
  let net: { vpc: string; subnet: string };

  before(async () => {
    await moto.start();
    home = await mkdtemp(join(tmpdir(), 'dm-ec2-home-'));
  });
  after(async () => {
    await moto.stop();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await moto.reset();
    await s?.cleanup();
    s = await tempStore();
    net = await moto.network('127.0.5.0/24');
  });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    AWS_ENDPOINT_URL_EC2: moto.proxyUrl,
    ...extra,
  });
  const base = () => [
    '--amazonec2-access-key',
    'AKIDMOTO',
    '--amazonec2-secret-key',
    SECRET,
    '--amazonec2-ami',
    AMI,
    '--amazonec2-vpc-id',
    net.vpc,
    '--amazonec2-subnet-id',
    net.subnet,
    '--amazonec2-use-private-address',
    '--amazonec2-ssh-port',
    '1',
  ];
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'amazonec2', ...base(), ...extra, name], { env: env(e), timeoutMs: 120_000 });

  const badInput: [string, () => string[], RegExp][] = [
    [
      'an unknown region',
      () => ['--amazonec2-region', 'xx-nowhere-9'],
      /region xx-nowhere-9 does not exist or is not enabled for this account; regions: .*us-east-1/,
    ],
    [
      'an unknown instance type',
      () => ['--amazonec2-instance-type', 't9.huge'],
      /instance type t9\.huge does not exist in region us-east-1; choose another --amazonec2-instance-type/,
    ],
    [
      'an unknown AMI',
      () => ['--amazonec2-ami', 'ami-00000000000000000'],
      /AMI ami-00000000000000000 does not exist in region us-east-1; give another --amazonec2-ami/,
    ],
    [
      'an unknown subnet',
      () => ['--amazonec2-subnet-id', 'subnet-0000000000'],
      /subnet subnet-0000000000 does not exist/,
    ],
    [
      'an unknown VPC',
      () => ['--amazonec2-subnet-id', '', '--amazonec2-vpc-id', 'vpc-00000000'],
      /VPC vpc-00000000 does not exist/,
    ],
    [
      'a subnet of another VPC',
      () => ['--amazonec2-vpc-id', 'vpc-11111111'],
      /SubnetId: subnet-\w+ does not belong to VpcId: vpc-11111111/,
    ],
    [
      'a key pair name without its key',
      () => ['--amazonec2-keypair-name', 'mine'],
      /using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath/,
    ],
    [
      'insecure transport without an endpoint',
      () => ['--amazonec2-insecure-transport'],
      /using --amazonec2-insecure-transport also requires --amazonec2-endpoint/,
    ],
    ['odd tags', () => ['--amazonec2-tags', 'a,b,c'], /--amazonec2-tags "a,b,c": expected key,value pairs/],
    [
      'a bad open port',
      () => ['--amazonec2-open-port', '99999'],
      /--amazonec2-open-port 99999: expected PORT/,
    ],
    [
      'a bad endpoint',
      () => ['--amazonec2-endpoint', 'ftp://x'],
      /--amazonec2-endpoint "ftp:\/\/x" is not an http\(s\) URL/,
    ],
    [
      'a bad volume type',
      () => ['--amazonec2-volume-type', 'gp9'],
      /invalid value "gp9" for flag -amazonec2-volume-type: expected one of gp2, gp3/,
    ],
  ];
  for (const [what, flags, want] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      const f = flags();
      const r =
        what === 'insecure transport without an endpoint'
          ? await create('m1', f, { AWS_ENDPOINT_URL_EC2: '' })
          : await create('m1', f);
      assertOneLine(r, want);
      assert.deepEqual(await moto.inventory(), EMPTY);
      assert.equal(existsSync(join(s.dir, 'machines', 'm1')), false, 'no machine folder');
    });
  }

  test('no credentials anywhere: one line naming every way to give them, and no request', async () => {
    const r = await s.run(['create', '-d', 'amazonec2', '--amazonec2-ami', AMI, 'm1'], {
      env: env(),
      timeoutMs: 60_000,
    });
    assertOneLine(
      r,
      /amazonec2 driver requires AWS credentials configured with the --amazonec2-access-key and --amazonec2-secret-key options, environment variables \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\), or a profile in ~\/.aws\/credentials or ~\/.aws\/config \(AWS_PROFILE\)/,
    );
    assert.deepEqual(moto.calls, []);
  });

  test('keys given by flag are never printed by status or rm, even with --debug, and are kept in config.json (0600)', async () => {
    const d = await runDriverSteps('s0', ['--amazonec2-session-token', `tok-${SECRET}`]);
    assert.equal(d.SecretKey, SECRET);
    const cfg = join(s.dir, 'machines', 's0', 'config.json');
    assert.equal((await import('node:fs')).statSync(cfg).mode & 0o777, 0o600);
    // (inspect prints config.json as the original did, keys included: it is asked for by name.)
    for (const cmd of [
      ['--debug', 'status', 's0'],
      ['--debug', 'rm', '-y', 's0'],
    ]) {
      const r = await s.run(cmd, { env: env() });
      assert.equal(r.code, 0, r.stderr);
      const all = r.stdout + r.stderr;
      assert.ok(!all.includes(SECRET), `${cmd.join(' ')} printed no key`);
      if (cmd[1] === 'rm') assert.match(r.stderr, /POST http:\/\/127\.0\.0\.1:\d+\/ .*authorization=/);
    }
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test('a key pair of the machine name that exists already is refused before anything is made', async () => {
    const pub = (await import('../../src/ssh/keys.js')).generateSSHKeyPair;
    const { publicLine } = await pub(join(home, 'other_key'));
    await moto.ec2().call('ImportKeyPair', {
      KeyName: 'm1',
      PublicKeyMaterial: Buffer.from(publicLine).toString('base64'),
    });
    const r = await create('m1');
    assertOneLine(r, /There is already a keypair with the name m1\./);
    assert.deepEqual(await moto.inventory(), { ...EMPTY, keys: ['m1'] });
  });

  test('a quota error at launch: the provider’s code in one line, and what the create made is undone', async () => {
    moto.failNext(
      'RunInstances',
      400,
      'InstanceLimitExceeded',
      'You have requested more instances (1) than your current instance limit of 0 allows for the specified instance type.',
    );
    const r = await create('m1');
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /EC2 API: InstanceLimitExceeded: You have requested more instances \(1\) than your current instance limit of 0 allows for the specified instance type\. \(HTTP 400\) \(request req-\d+\); removed what this create had made: security group docker-machine \(sg-\w+\), key pair m1 \(m1\)/,
    );
    assert.deepEqual(await moto.inventory(), EMPTY);
    assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET));
  });

  test('throttling (RequestLimitExceeded) is waited out; a launch is repeated after a 5xx (its client token makes that safe), an import is not', async () => {
    moto.failNext('DescribeRegions', 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    moto.failNext('DescribeInstanceTypes', 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    moto.failNext('RunInstances', 500, 'InternalError', 'An internal error has occurred');
    const k = await killAt(/Instance address: /, 'm1');
    assert.deepEqual(
      ['DescribeRegions', 'DescribeInstanceTypes', 'RunInstances'].map(
        (a) => moto.calls.filter((c) => c === a).length,
      ),
      [2, 2, 2],
    );
    const tokens = moto.forms
      .filter((f) => f.get('Action') === 'RunInstances')
      .map((f) => f.get('ClientToken'));
    assert.equal(tokens[0], tokens[1], 'the repeat carries the same client token');
    assert.equal(k.made.instances.length, 1);

    // A 5xx of a call without a client token may have been acted on: not repeated; one line, and
    // rm finds what the provider may have made by its name.
    moto.failNext('ImportKeyPair', 500, 'InternalError', 'An internal error has occurred');
    moto.calls = [];
    const r = await create('m2');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EC2 API: InternalError: An internal error has occurred \(HTTP 500\)/);
    assert.equal(moto.calls.filter((c) => c === 'ImportKeyPair').length, 1);
    const rmr = await s.run(['rm', '-y', 'm2'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test('kill powers the instance off (a forced stop), and status says Stopped', async () => {
    const d = await runDriverSteps('p1');
    const r = await s.run(['kill', 'p1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const stop = moto.forms.find((f) => f.get('Action') === 'StopInstances');
    assert.deepEqual([stop?.get('InstanceId.1'), stop?.get('Force')], [d.InstanceId, 'true']);
    assert.equal((await s.run(['status', 'p1'], { env: env() })).stdout.trim(), 'Stopped');
    const rmr = await s.run(['rm', '-y', 'p1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test('a spot instance by market options: the spot request id AWS answers with is saved, and rm cancels it, then terminates the instance', async () => {
    // moto leaves SpotInstanceRequestId out of RunInstances' answer (AWS sends it): a request of
    // moto's own stands in for the one AWS would have made, its id added to the answer.
    const c = moto.ec2();
    const stand = obj(
      list(
        (
          await c.call('RequestSpotInstances', {
            SpotPrice: '0.5',
            InstanceCount: 1,
            LaunchSpecification: { ImageId: AMI, InstanceType: 't2.micro' },
          })
        ).spotInstanceRequestSet,
      )[0],
    );
    const sir = text(stand.spotInstanceRequestId);
    moto.rewrite.set('RunInstances', (xml) =>
      xml.replace('</instanceId>', `</instanceId><spotInstanceRequestId>${sir}</spotInstanceRequestId>`),
    );
    const d = await runDriverSteps('m1', ['--amazonec2-request-spot-instance']);
    assert.equal(d.SpotInstanceRequestId, sir);
    assert.deepEqual(
      ledgerOf(d).map((e) => [e.kind, e.id]),
      [
        ['key_pair', 'm1'],
        ['security_group', (d.SecurityGroupIds as string[])[0]],
        ['instance', d.InstanceId],
        ['spot_request', sir],
      ],
    );
    const r = await s.run(['rm', '-y', 'm1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`Deleted spot request of m1 \\(${sir}\\)[\\s\\S]*Deleted instance m1 \\(${d.InstanceId}\\)`),
    );
    const left = await moto.inventory();
    assert.deepEqual(left.spot, []);
    // What is left is the stand-in request's own instance, which was never the machine's.
    assert.deepEqual(left.instances, [text(stand.instanceId)]);
    await c.call('TerminateInstances', { InstanceId: [text(stand.instanceId)] });
  });

  test("the original's spot request: waited for until fulfilled, its instance tagged and given its metadata options; rm cancels it", async () => {
    // Killed at the launch line, before the address: moto gives a spot request's instance an
    // address outside the subnet asked for (10.30.x.y), and that address must never be dialled.
    const k = await killAt(/Instance i-\w+ launched \(spot request sir-\w+\)/, 's1', [
      '--amazonec2-request-spot-instance',
      '--amazonec2-spot-api',
      'request-spot-instances',
      '--amazonec2-http-tokens',
      'required',
    ]);
    assert.deepEqual(
      k.ledger.map((e) => [e.kind, e.find.by, e.id.replace(/-\w+$/, '-')]),
      [
        ['key_pair', 'name', 's1'],
        ['security_group', 'name', 'sg-'],
        ['spot_request', 'tag', 'sir-'],
        ['instance', 'spot-request-tag', 'i-'],
      ],
    );
    assert.match(k.driver.SpotInstanceRequestId, /^sir-/);
    const req = moto.forms.find((f) => f.get('Action') === 'RequestSpotInstances');
    assert.equal(req?.get('SpotPrice'), '0.50');
    assert.equal(req?.get('LaunchSpecification.ImageId'), AMI);
    assert.equal(req?.get('LaunchSpecification.NetworkInterface.1.SubnetId'), net.subnet);
    assert.equal(req?.get('TagSpecification.1.ResourceType'), 'spot-instances-request');
    const meta = moto.forms.find((f) => f.get('Action') === 'ModifyInstanceMetadataOptions');
    assert.equal(meta?.get('HttpTokens'), 'required');
    assert.match(k.out, /Deleted instance s1 \(i-\w+\)[\s\S]*Deleted spot request of s1 \(sir-\w+\)/);
  });

  /**
   * create until `at` (a line of its output, or the proxy seeing an action whose answer it then
   * holds), kill -9, then rm -y: moto must be left as it was.
   */
  const killAt = async (at: RegExp | string, name: string, extra: string[] = []) => {
    if (typeof at === 'string') {
      moto.holdMs = 1500;
      moto.holdActions = new Set([at]);
    }
    const { driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: ['create', '-d', 'amazonec2', ...base(), ...extra, name],
      env: env(),
      made: (action, hit) => {
        // moto has made it; its answer is held: the kill lands before the driver hears of it.
        moto.onAction = (a) => {
          if (a === action) setTimeout(hit, 300);
        };
        return () => {
          moto.onAction = undefined;
        };
      },
      settleMs: moto.holdMs + 200,
    });
    moto.holdMs = 0;
    const ledger = ledgerOf(driver);
    const made = await moto.inventory();
    const r = await s.run(['rm', '-y', name], { env: env(), timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await moto.inventory(), EMPTY, `after rm (made: ${JSON.stringify(made)})`);
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, driver, out: r.stdout };
  };

  test('kill -9 at each create step, then rm -y: nothing is left in moto', async () => {
    await killAt(/Creating SSH key\.\.\./, 'k1');
    await killAt(/Creating firewall\.\.\./, 'k2');
    await killAt(/Creating instance\.\.\./, 'k3');
    const waiting = await killAt(/Waiting for instance k4 \(i-\w+\) to be running/, 'k4');
    assert.deepEqual(
      waiting.ledger.map((e) => e.kind),
      ['key_pair', 'security_group', 'instance'],
    );
    assert.ok(
      waiting.ledger.every((e) => e.id !== ''),
      'every id was saved before the wait',
    );
    const address = await killAt(/Instance address: 127\.0\.5\.\d+/, 'k5');
    assert.equal(address.made.instances.length, 1);
    assert.match(
      address.out,
      /Deleted instance k5 \(i-\w+\)[\s\S]*Deleted security group docker-machine \(sg-\w+\)[\s\S]*Deleted key pair k5 \(k5\)/,
    );
  });

  test('kill -9 after EC2 made a resource and before its answer arrived: rm finds it by name or tag', async () => {
    const key = await killAt('ImportKeyPair', 'h1');
    assert.deepEqual(key.made.keys, ['h1']);
    assert.equal(key.ledger.find((e) => e.kind === 'key_pair')?.id, '');
    const group = await killAt('CreateSecurityGroup', 'h2');
    assert.deepEqual(group.made.groups, ['docker-machine']);
    assert.equal(group.ledger.find((e) => e.kind === 'security_group')?.id, '');
    assert.match(group.out, /Deleted security group docker-machine \(sg-\w+\)/);
    const inst = await killAt('RunInstances', 'h3');
    assert.equal(inst.made.instances.length, 1);
    const entry = inst.ledger.find((e) => e.kind === 'instance');
    assert.deepEqual([entry?.id, entry?.find.by], ['', 'tag']);
    assert.match(inst.out, /Deleted instance h3 \(i-\w+\)/);
    const spot = await killAt('RequestSpotInstances', 'h4', [
      '--amazonec2-request-spot-instance',
      '--amazonec2-spot-api',
      'request-spot-instances',
    ]);
    assert.equal(spot.made.spot.length, 1);
    assert.equal(spot.made.instances.length, 1);
    assert.match(spot.out, /Deleted instance h4 \(i-\w+\)[\s\S]*Deleted spot request of h4 \(sir-\w+\)/);
  });

  /** An IAM instance profile in moto (its IAM API, told apart by the signature's service). */
  const instanceProfile = async (name: string) => {
    const res = await fetch(moto.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDMOTO/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: `Action=CreateInstanceProfile&InstanceProfileName=${name}&Version=2010-05-08`,
    });
    assert.equal(res.status, 200, await res.text());
  };

  test('an IAM instance profile that does not exist: the provider’s line, and what was made is undone', async () => {
    const r = await create('m1', ['--amazonec2-iam-instance-profile', 'nope']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /EC2 API: NoSuchEntity: Instance profile nope not found \(HTTP 404\).*; removed what this create had made: security group docker-machine \(sg-\w+\), key pair m1 \(m1\)/,
    );
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test("without --amazonec2-ami: the region's newest Ubuntu 24.04 from Canonical, arm64 for Graviton types, with the image's root device", async () => {
    const images = new Moto('us-east-1', TEST_AMIS);
    await images.start();
    try {
      const n = await images.network('127.0.6.0/24');
      for (const [type, want] of [
        ['t2.micro', 'ami-0noble0amd640new'],
        ['t4g.small', 'ami-0noble0arm640new'],
      ]) {
        const flags = [
          '--amazonec2-access-key',
          'AKIDMOTO',
          '--amazonec2-secret-key',
          SECRET,
          '--amazonec2-subnet-id',
          n.subnet,
          '--amazonec2-use-private-address',
          '--amazonec2-ssh-port',
          '1',
          '--amazonec2-instance-type',
          type,
        ];
        const e = env({ AWS_ENDPOINT_URL_EC2: images.proxyUrl });
        const k = await untilAddress('d1', flags, e);
        assert.match(
          k.out,
          new RegExp(`Using AMI ${want} \\(ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24\\.04-`),
        );
        const run = images.forms.find((f) => f.get('Action') === 'RunInstances');
        assert.equal(run?.get('ImageId'), want);
        assert.equal(run?.get('BlockDeviceMapping.1.DeviceName'), '/dev/xvda');
        assert.equal(k.driver.AMI, want);
        const rmr = await s.run(['rm', '-y', 'd1'], { env: e });
        assert.equal(rmr.code, 0, rmr.stderr);
        images.forms = [];
      }
      assert.deepEqual(await images.inventory(), EMPTY);
    } finally {
      await images.stop();
    }
  });

  test('every option reaches the launch: tags on instance and volume, IMDSv2, EBS type/size/encryption/KMS, spot market, IAM profile, ports', async () => {
    await instanceProfile('docker-node');
    const userData = join(home, 'user-data.sh');
    await writeFile(userData, '#!/bin/sh\necho hi\n');
    const k = await killAt(/Instance address: /, 'o1', [
      '--amazonec2-tags',
      'team,a,env,test',
      '--amazonec2-http-tokens',
      'required',
      '--amazonec2-http-endpoint',
      'enabled',
      '--amazonec2-metadata-token-response-hop-limit',
      '2',
      '--amazonec2-volume-type',
      'gp3',
      '--amazonec2-root-size',
      '30',
      '--amazonec2-kms-key',
      'arn:aws:kms:us-east-1:123456789012:key/abcd',
      '--amazonec2-request-spot-instance',
      '--amazonec2-spot-price',
      '0.25',
      '--amazonec2-iam-instance-profile',
      'docker-node',
      '--amazonec2-open-port',
      '8080',
      '--amazonec2-open-port',
      '53/udp',
      '--amazonec2-userdata',
      userData,
      '--amazonec2-monitoring',
    ]);
    const run = moto.forms.find((f) => f.get('Action') === 'RunInstances');
    assert.ok(run);
    const want: Record<string, string> = {
      ImageId: AMI,
      KeyName: 'o1',
      InstanceType: 't2.micro',
      'Placement.AvailabilityZone': 'us-east-1a',
      'NetworkInterface.1.SubnetId': net.subnet,
      'NetworkInterface.1.AssociatePublicIpAddress': 'true',
      'BlockDeviceMapping.1.DeviceName': '/dev/sda1',
      'BlockDeviceMapping.1.Ebs.VolumeSize': '30',
      'BlockDeviceMapping.1.Ebs.VolumeType': 'gp3',
      'BlockDeviceMapping.1.Ebs.Encrypted': 'true',
      'BlockDeviceMapping.1.Ebs.KmsKeyId': 'arn:aws:kms:us-east-1:123456789012:key/abcd',
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.MaxPrice': '0.25',
      'MetadataOptions.HttpTokens': 'required',
      'MetadataOptions.HttpEndpoint': 'enabled',
      'MetadataOptions.HttpPutResponseHopLimit': '2',
      'IamInstanceProfile.Name': 'docker-node',
      'Monitoring.Enabled': 'true',
      UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.2.ResourceType': 'volume',
    };
    for (const [key, v] of Object.entries(want)) assert.equal(run.get(key), v, key);
    assert.match(run.get('ClientToken') ?? '', /^[0-9a-f]{16}-run$/);
    // What moto made of it (read before rm, from the kill's inventory time).
    assert.equal(k.made.instances.length, 1);
    const auth = moto.forms.find((f) => f.get('Action') === 'AuthorizeSecurityGroupIngress');
    const perms = [1, 2, 3, 4].map(
      (i) => `${auth?.get(`IpPermissions.${i}.FromPort`)}/${auth?.get(`IpPermissions.${i}.IpProtocol`)}`,
    );
    assert.deepEqual(perms, ['1/tcp', '2376/tcp', '8080/tcp', '53/udp']);
    assert.equal(auth?.get('IpPermissions.1.IpRanges.1.CidrIp'), '0.0.0.0/0');
  });

  test('tags land on the instance and its volume; metadata options and encryption as moto reports them', async () => {
    const r = await runDriverSteps('t1', [
      '--amazonec2-tags',
      'team,a',
      '--amazonec2-http-tokens',
      'required',
      '--amazonec2-encrypt-ebs-volume',
    ]);
    const c = moto.ec2();
    const inst = obj(
      list(
        obj(
          list(
            (await c.call('DescribeInstances', { InstanceId: [r.InstanceId as string] })).reservationSet,
          )[0],
        ).instancesSet,
      )[0],
    );
    const tags = Object.fromEntries(list(inst.tagSet).map((t) => [text(obj(t).key), text(obj(t).value)]));
    assert.equal(tags.Name, 't1');
    assert.equal(tags.team, 'a');
    assert.equal(tags['docker-machine-id'], r.Id);
    assert.equal(text(obj(inst.metadataOptions).httpTokens), 'required');
    const vols = list(
      (await c.call('DescribeVolumes', filters({ 'attachment.instance-id': r.InstanceId as string })))
        .volumeSet,
    ).map(obj);
    assert.equal(vols.length, 1);
    assert.equal(text(vols[0].encrypted), 'true');
    const vtags = Object.fromEntries(list(vols[0].tagSet).map((t) => [text(obj(t).key), text(obj(t).value)]));
    assert.equal(vtags.team, 'a');
    const rmr = await s.run(['rm', '-y', 't1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test("a swarm manager: its ports from anywhere, Swarm mode's node ports (7946 tcp/udp, 4789 udp) from its own group", async () => {
    const d = await runDriverSteps('sw1', ['--swarm-master']);
    const c = moto.ec2();
    const [g] = list(
      (await c.call('DescribeSecurityGroups', { GroupId: d.SecurityGroupIds as string[] })).securityGroupInfo,
    ).map(obj);
    const groupId = text(g.groupId);
    const rules = list(g.ipPermissions)
      .map(obj)
      .map((p) => {
        const from = [
          ...list(p.groups).map((x) => text(obj(x).groupId)),
          ...list(p.ipRanges).map((x) => text(obj(x).cidrIp)),
        ];
        return `${text(p.fromPort)}/${text(p.ipProtocol)} from ${from.join(',')}`;
      })
      .sort();
    assert.deepEqual(rules, [
      '1/tcp from 0.0.0.0/0',
      '2376/tcp from 0.0.0.0/0',
      '2377/tcp from 0.0.0.0/0',
      '3376/tcp from 0.0.0.0/0',
      `4789/udp from ${groupId}`,
      `7946/tcp from ${groupId}`,
      `7946/udp from ${groupId}`,
    ]);
    const rmr = await s.run(['rm', '-y', 'sw1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test('two named groups, read-only, a private address only and a device name: both groups made and given to the interface, no rule added, no public address; rm deletes both', async () => {
    const d = await runDriverSteps('r1', [
      '--amazonec2-security-group',
      'web',
      '--amazonec2-security-group',
      'ops',
      '--amazonec2-security-group-readonly',
      '--amazonec2-private-address-only',
      '--amazonec2-device-name',
      '/dev/sdf',
    ]);
    assert.deepEqual((await moto.inventory()).groups, ['ops', 'web']);
    assert.equal(moto.calls.includes('AuthorizeSecurityGroupIngress'), false);
    const run = moto.forms.find((f) => f.get('Action') === 'RunInstances');
    assert.deepEqual(
      [run?.get('NetworkInterface.1.SecurityGroupId.1'), run?.get('NetworkInterface.1.SecurityGroupId.2')],
      d.SecurityGroupIds,
    );
    assert.equal(run?.get('NetworkInterface.1.AssociatePublicIpAddress'), 'false');
    assert.equal(
      run?.get('BlockDeviceMapping.1.DeviceName'),
      '/dev/sdf',
      'a device name given wins over the image',
    );
    const inst = obj(
      list(
        obj(
          list(
            (await moto.ec2().call('DescribeInstances', { InstanceId: [d.InstanceId as string] }))
              .reservationSet,
          )[0],
        ).instancesSet,
      )[0],
    );
    assert.equal(text(inst.ipAddress), '');
    assert.equal(d.IPAddress, text(inst.privateIpAddress));
    const r = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted security group ops \(sg-\w+\)[\s\S]*Deleted security group web \(sg-\w+\)/,
    );
    assert.deepEqual(await moto.inventory(), EMPTY);
  });

  test("a security group two machines use is left by the first rm and deleted by the last; a user's key pair is never deleted", async () => {
    const { generateSSHKeyPair } = await import('../../src/ssh/keys.js');
    const keyPath = join(home, 'my_key');
    const { publicLine } = await generateSSHKeyPair(keyPath);
    await moto.ec2().call('ImportKeyPair', {
      KeyName: 'laptop',
      PublicKeyMaterial: Buffer.from(publicLine).toString('base64'),
    });
    const a = await runDriverSteps('g1');
    const b = await runDriverSteps('g2', [
      '--amazonec2-keypair-name',
      'laptop',
      '--amazonec2-ssh-keypath',
      keyPath,
    ]);
    assert.deepEqual(a.SecurityGroupIds, b.SecurityGroupIds);
    assert.equal(
      await readFile(join(s.dir, 'machines', 'g2', 'id_rsa'), 'utf8'),
      await readFile(keyPath, 'utf8'),
      'the given key is the machine key',
    );
    const r1 = await s.run(['rm', '-y', 'g1'], { env: env() });
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(
      r1.stdout,
      /Left security group docker-machine \(sg-\w+\): other instances use it \(i-\w+\)/,
    );
    assert.deepEqual((await moto.inventory()).groups, ['docker-machine']);
    const r2 = await s.run(['rm', '-y', 'g2'], { env: env() });
    assert.equal(r2.code, 0, r2.stderr);
    // g1 made the group and gave it up; g2 never owned it: it stays, as the original leaves it.
    assert.deepEqual(await moto.inventory(), { ...EMPTY, keys: ['laptop'], groups: ['docker-machine'] });
  });

  test('credentials from a profile of ~/.aws/credentials (AWS_PROFILE) and ~/.aws/config; never printed, even with --debug', async () => {
    await mkdir(join(home, '.aws'), { recursive: true });
    await writeFile(
      join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = ${SECRET}-default\n\n[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = ${SECRET}-work\n`,
      { mode: 0o600 },
    );
    await writeFile(
      join(home, '.aws', 'config'),
      `[profile cfg]\nregion = us-east-1\naws_access_key_id = AKIDCFG\naws_secret_access_key = ${SECRET}-cfg\naws_session_token = tok-${SECRET}\n`,
      { mode: 0o600 },
    );
    for (const [profile, akid] of [
      ['work', 'AKIDWORK'],
      ['cfg', 'AKIDCFG'],
      ['', 'AKIDDEFAULT'],
    ]) {
      moto.signers = [];
      const r = await s.run(
        [
          '--debug',
          'create',
          '-d',
          'amazonec2',
          ...base().slice(4),
          '--amazonec2-instance-type',
          't9.huge',
          'p1',
        ],
        { env: env({ AWS_PROFILE: profile }), timeoutMs: 60_000 },
      );
      assert.match(r.stderr, /instance type t9\.huge does not exist/);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET), 'no secret printed');
      assert.match(r.stderr, new RegExp(`EC2 credentials from profile ${profile || 'default'} in`));
      assert.ok(moto.signers.length > 0);
      assert.ok(
        moto.signers.every((x) => x.keyId === akid && x.token === (profile === 'cfg')),
        JSON.stringify(moto.signers),
      );
    }
    await rm(join(home, '.aws'), { recursive: true, force: true });
  });

  test('a fleet of 20 creates against a throttling EC2: every instance made, then rm -y of all', async () => {
    moto.throttle(30, 1000);
    const names = Array.from({ length: 20 }, (_, i) => `f${i + 1}`);
    // Twenty clients of one account, each polling its instance, against 30 requests a second: a
    // client can meet a full window six times running, which the default 5 retries gave up on
    // (seen in a CI run, the pre-create check's first call). A fleet this size sets more.
    const flags = { ...flagMap(), 'amazonec2-retries': '10' };
    const took = await createFleet(s.dir, 'amazonec2', flags, names, { preCreateCheck: true });
    const inv = await moto.inventory();
    assert.equal(inv.instances.length, 20);
    assert.equal(inv.keys.length, 20);
    assert.deepEqual(inv.groups, ['docker-machine'], 'one shared group, made once');
    assert.ok(moto.throttled > 0, 'moto’s proxy throttled some requests');
    const ips = new Set<string>();
    for (const name of names) {
      const driver = await savedDriver(s.dir, name);
      assert.ok(inv.instances.includes(driver.InstanceId), `${name} saved its instance`);
      ips.add(driver.IPAddress);
    }
    assert.equal(ips.size, 20);
    process.stderr.write(
      `fleet of 20: ${took} ms, ${moto.calls.length} requests, ${moto.throttled} throttled\n`,
    );
    const r = await s.run(['rm', '-y', ...names], { env: env(), timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    const left = await moto.inventory();
    assert.deepEqual({ ...left, groups: [] }, EMPTY);
  });

  const flagMap = (): Record<string, string | boolean | string[]> => ({
    'amazonec2-access-key': 'AKIDMOTO',
    'amazonec2-secret-key': SECRET,
    'amazonec2-ami': AMI,
    'amazonec2-vpc-id': net.vpc,
    'amazonec2-subnet-id': net.subnet,
    'amazonec2-use-private-address': true,
    'amazonec2-endpoint': moto.proxyUrl,
  });

  /** create until its instance has an address (kill -9 there, before SSH): the machine's Driver section. */
  const runDriverSteps = async (name: string, extra: string[] = []) =>
    (await untilAddress(name, [...base(), ...extra], env())).driver;
  const untilAddress = (name: string, flags: string[], e: NodeJS.ProcessEnv) =>
    killCreateAt(/Instance address: /, {
      storeDir: s.dir,
      args: ['create', '-d', 'amazonec2', ...flags, name],
      env: e,
      // Nothing is held at this line: the config.json it read is the one the create wrote last.
      settleMs: 0,
    });
});

function assertOneLine(r: { code: number; stdout: string; stderr: string }, want: RegExp): void {
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, want);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), 'the secret key is never printed');
}
