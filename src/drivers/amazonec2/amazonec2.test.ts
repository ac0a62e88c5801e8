import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { resolveCredentials } from './credentials.js';
import { flattenParams } from './ec2.js';
import { amazonec2Driver, armType, endpointFrom, ingressPorts } from './index.js';
import { signV4 } from './sigv4.js';
import { instancesOf, machineState } from './state.js';
import { list, obj, parseXml, text } from './xml.js';

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const AT = new Date('2015-08-30T12:36:00Z');
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

describe('SigV4', () => {
  test("AWS's documented example (IAM ListUsers) gives AWS's signature", () => {
    const h = signV4(
      {
        method: 'GET',
        url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
        headers: { 'content-type': FORM },
        payload: '',
        region: 'us-east-1',
        service: 'iam',
        now: AT,
      },
      EXAMPLE,
    );
    assert.equal(
      h.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
    assert.equal(h['x-amz-date'], '20150830T123600Z');
  });

  test('an EC2 form POST with a session token signs the token too (as botocore signs it)', () => {
    const h = signV4(
      {
        method: 'POST',
        url: new URL('https://ec2.us-east-1.amazonaws.com/'),
        headers: { 'content-type': FORM, accept: 'text/xml', 'user-agent': 'docker-machine' },
        payload: 'Action=DescribeRegions&Version=2016-11-15',
        region: 'us-east-1',
        service: 'ec2',
        now: AT,
      },
      { ...EXAMPLE, sessionToken: 'tok' },
    );
    assert.equal(h['x-amz-security-token'], 'tok');
    assert.equal(
      h.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=1ffc9beff29ce1cdc8b5fad13da27e07a0f6c689ccaeb82c17fb328a275ae510',
    );
  });
});

describe('EC2 query and answers', () => {
  test('nested parameters become EC2 names: lists as .N, structures as .Field, undefined left out', () => {
    assert.deepEqual(
      flattenParams({
        NetworkInterface: [
          { DeviceIndex: 0, SecurityGroupId: ['sg-1', 'sg-2'], AssociatePublicIpAddress: false },
        ],
        Filter: [{ Name: 'vpc-id', Value: ['vpc-1'] }],
        IamInstanceProfile: undefined,
        Ebs: { VolumeSize: 16 },
      }),
      [
        ['NetworkInterface.1.DeviceIndex', '0'],
        ['NetworkInterface.1.SecurityGroupId.1', 'sg-1'],
        ['NetworkInterface.1.SecurityGroupId.2', 'sg-2'],
        ['NetworkInterface.1.AssociatePublicIpAddress', 'false'],
        ['Filter.1.Name', 'vpc-id'],
        ['Filter.1.Value.1', 'vpc-1'],
        ['Ebs.VolumeSize', '16'],
      ],
    );
  });

  test('an EC2 answer: sets become arrays, empty sets empty, entities decoded', () => {
    const { root, value } = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <reservationSet><item><reservationId>r-9</reservationId><groupSet/><instancesSet>
    <item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState>
      <privateIpAddress>10.0.0.4</privateIpAddress><ipAddress>54.1.2.3</ipAddress>
      <blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-1</volumeId></ebs></item></blockDeviceMapping>
      <tagSet><item><key>Name</key><value>a &amp; b &lt;c&gt; &#233;</value></item></tagSet>
    </item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>`);
    assert.equal(root, 'DescribeInstancesResponse');
    const [i] = instancesOf(obj(value));
    assert.deepEqual(i, {
      id: 'i-1',
      state: 'running',
      privateIp: '10.0.0.4',
      publicIp: '54.1.2.3',
      spotRequestId: '',
      volumeIds: ['vol-1'],
      stateReason: '',
    });
    const r = obj(list(obj(value).reservationSet)[0]);
    assert.deepEqual(list(r.groupSet), []);
    const tag = obj(list(obj(list(r.instancesSet)[0]).tagSet)[0]);
    assert.equal(text(tag.value), 'a & b <c> é');
    assert.throws(() => parseXml('<a><b></a>'), /unexpected <\/a>/);
  });

  test('instance states map as the original mapped them', () => {
    assert.deepEqual(
      ['pending', 'running', 'stopping', 'shutting-down', 'stopped', 'terminated', 'odd'].map(machineState),
      ['Starting', 'Running', 'Stopping', 'Stopping', 'Stopped', 'Error', 'Error'],
    );
  });

  test("security group ports: the original's from anywhere; Swarm mode's node ports from the group, for managers and workers", () => {
    const show = (json: Record<string, unknown>) =>
      ingressPorts({ SSHPort: 22, OpenPorts: ['8080', '53/udp'], ...json }).map(
        (p) => `${p.port}/${p.proto} ${p.from}`,
      );
    const world = ['22/tcp anywhere', '2376/tcp anywhere', '8080/tcp anywhere', '53/udp anywhere'];
    const nodes = ['7946/tcp group', '7946/udp group', '4789/udp group'];
    assert.deepEqual(show({}), world);
    assert.deepEqual(show({ SwarmMaster: true, SwarmHost: 'tcp://0.0.0.0:3376' }), [
      '22/tcp anywhere',
      '2376/tcp anywhere',
      '3376/tcp anywhere',
      '2377/tcp anywhere',
      '8080/tcp anywhere',
      '53/udp anywhere',
      ...nodes,
    ]);
    // A worker: no manager port, the node ports all the same.
    assert.deepEqual(show({ SwarmMaster: false, SwarmHost: 'tcp://0.0.0.0:3376' }), [...world, ...nodes]);
    // A port the user opened to the world already is not opened again for the group.
    assert.deepEqual(show({ OpenPorts: ['7946/udp'], SwarmHost: 'tcp://0.0.0.0:3376' }), [
      '22/tcp anywhere',
      '2376/tcp anywhere',
      '7946/udp anywhere',
      '7946/tcp group',
      '4789/udp group',
    ]);
  });

  test('a swarm node advertises its private address, where the group admits the other members', async () => {
    const d = (json: Record<string, unknown>) =>
      amazonec2Driver.fromJSON({ MachineName: 'm', IPAddress: '54.1.2.3', ...json });
    assert.equal(await d({ PrivateIPAddress: '10.0.0.5' }).clusterAddress?.(), '10.0.0.5');
    assert.equal(await d({ PrivateIPAddress: '' }).clusterAddress?.(), '54.1.2.3');
  });

  test('Graviton types take arm64 images', () => {
    assert.deepEqual(
      ['t2.micro', 't4g.small', 'm7g.large', 'c6gn.xlarge', 'g5.xlarge', 'm5.large'].map(armType),
      [false, true, true, true, false, false],
    );
  });

  test('endpoint: the flag, else AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL; a host name alone is taken', () => {
    assert.equal(endpointFrom('', false, {}), '');
    assert.equal(endpointFrom('', false, { AWS_ENDPOINT_URL: 'http://b:1' }), 'http://b:1');
    assert.equal(
      endpointFrom('', false, { AWS_ENDPOINT_URL_EC2: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:1' }),
      'http://a:1',
    );
    assert.equal(endpointFrom('ec2.example.org', false, {}), 'https://ec2.example.org');
    assert.equal(endpointFrom('ec2.example.org', true, {}), 'http://ec2.example.org');
    assert.throws(() => endpointFrom('ftp://x', false, {}), /is not an http\(s\) URL/);
  });
});

describe('credentials', () => {
  test('flags, then the environment, then the credentials file profile, then the config file', async () => {
    const home = await mkdtemp(join(tmpdir(), 'dm-aws-'));
    try {
      const none = { accessKey: '', secretKey: '', sessionToken: '' };
      assert.equal(resolveCredentials(none, { HOME: home }), undefined);
      await writeFile(
        join(home, 'creds'),
        '# mine\n[default]\naws_access_key_id = AKD\naws_secret_access_key = SD\n[ work ]\nAWS_ACCESS_KEY_ID=AKW\naws_secret_access_key = SW ; a comment\n',
      );
      await writeFile(
        join(home, 'config'),
        '[default]\nregion = eu-west-1\n[profile cfg]\naws_access_key_id = AKC\naws_secret_access_key = SC\naws_session_token = TC\n',
      );
      const env = {
        HOME: home,
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'creds'),
        AWS_CONFIG_FILE: join(home, 'config'),
      };
      const pick = (e: NodeJS.ProcessEnv, given = none) => {
        const c = resolveCredentials(given, e);
        return c && [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? ''];
      };
      assert.deepEqual(pick(env), ['AKD', 'SD', '']);
      assert.deepEqual(pick({ ...env, AWS_PROFILE: 'work' }), ['AKW', 'SW', '']);
      assert.deepEqual(pick({ ...env, AWS_PROFILE: 'cfg' }), ['AKC', 'SC', 'TC']);
      assert.equal(pick({ ...env, AWS_PROFILE: 'nope' }), undefined);
      assert.deepEqual(
        pick({ ...env, AWS_ACCESS_KEY_ID: 'AKE', AWS_SECRET_ACCESS_KEY: 'SE', AWS_SESSION_TOKEN: 'TE' }),
        ['AKE', 'SE', 'TE'],
      );
      assert.deepEqual(
        pick(
          { ...env, AWS_ACCESS_KEY_ID: 'AKE', AWS_SECRET_ACCESS_KEY: 'SE' },
          { accessKey: 'AKF', secretKey: 'SF', sessionToken: '' },
        ),
        ['AKF', 'SF', ''],
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
