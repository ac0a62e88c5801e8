import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withoutSecrets } from '../../api/driver-secrets.js';
import { parseFlags } from '../../flags/parse.js';
import { readCloud } from './auth/clouds-yaml.js';
import { authBody, type CatalogService, endpointFor, missingEndpoint, v3URL } from './auth/keystone.js';
import { parseOpenStackError } from './errors.js';
import { flags, interfaceOf } from './flags.js';
import { openstackDriver } from './index.js';
import { credentialsOf, settingsFromFlags } from './settings.js';
import { machineState, parseMetadata, pickAddress } from './state.js';

const base = {
  IPAddress: '',
  MachineName: 'n1',
  SSHUser: '',
  SSHPort: 0,
  SSHKeyPath: '',
  StorePath: '/nonexistent',
  SwarmMaster: false,
  SwarmHost: '',
  SwarmDiscovery: '',
};
const NEED = ['--openstack-flavor-name', 'm1.small', '--openstack-image-name', 'debian'];

function settings(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = '/nonexistent') {
  return settingsFromFlags(parseFlags(argv, flags, { env }).flags, env, cwd);
}

test('the original env names and the newer aliases both give the credentials; a flag wins', () => {
  const env = {
    OS_AUTH_URL: 'https://keystone:5000/v3',
    OS_USERNAME: 'u',
    OS_PASSWORD: 'p',
    OS_PROJECT_NAME: 'proj',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_ID: 'default',
    OS_INTERFACE: 'internal',
  };
  const j = settings(NEED, env);
  const c = credentialsOf(j);
  assert.equal(c.projectName, 'proj');
  assert.equal(c.userDomainName, 'Default');
  assert.equal(c.projectDomainID, 'default');
  assert.equal(j.EndpointType, 'internal');
  // OS_TENANT_NAME, the original's, comes before OS_PROJECT_NAME; a flag before both.
  assert.equal(settings(NEED, { ...env, OS_TENANT_NAME: 'old' }).TenantName, 'old');
  assert.equal(
    settings([...NEED, '--openstack-tenant-name', 'flag'], { ...env, OS_TENANT_NAME: 'old' }).TenantName,
    'flag',
  );
  // --openstack-domain-name is the default of both the user's and the project's domain.
  const d = credentialsOf(
    settings([...NEED, '--openstack-domain-name', 'D'], {
      ...env,
      OS_USER_DOMAIN_NAME: '',
      OS_PROJECT_DOMAIN_ID: '',
    }),
  );
  assert.equal(d.userDomainName, 'D');
  assert.equal(d.projectDomainName, 'D');
});

test("bad or missing settings are the original's one line (or a new one naming the flag)", () => {
  const env = { OS_AUTH_URL: 'https://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_TENANT_ID: 't' };
  const err = (argv: string[], e: NodeJS.ProcessEnv, re: RegExp) =>
    assert.throws(
      () => settings(argv, e),
      (x: Error) => re.test(x.message) && !x.message.includes('\n'),
    );
  err(
    NEED,
    { ...env, OS_AUTH_URL: '' },
    /^Authentication URL must be specified either using the environment variable OS_AUTH_URL/,
  );
  err(NEED, { ...env, OS_PASSWORD: '' }, /^Password must be specified/);
  err(NEED, { ...env, OS_TENANT_ID: '' }, /^Tenant id or name must be provided/);
  err(['--openstack-image-name', 'x'], env, /^Flavor name or id must be specified/);
  err(
    [...NEED, '--openstack-flavor-id', '1'],
    env,
    /^Either --openstack-flavor-name or --openstack-flavor-id must be specified, not both/,
  );
  err(
    [...NEED, '--openstack-keypair-name', 'k'],
    env,
    /^Both --openstack-keypair-name and --openstack-private-key-file must be specified/,
  );
  err(
    [...NEED, '--openstack-endpoint-type', 'publicurl'],
    env,
    /^Endpoint type must be 'publicURL', 'adminURL' or 'internalURL'/,
  );
  err([...NEED, '--openstack-ip-version', '5'], env, /ip-version 5: give 4 or 6/);
  err([...NEED, '--openstack-metadata', 'a,b,c'], env, /has a key without a value/);
  err([...NEED, '--openstack-volume-size', '20'], env, /need --openstack-boot-from-volume/);
  // An application credential needs neither a user nor a project.
  assert.doesNotThrow(() =>
    settings(NEED, {
      OS_AUTH_URL: 'https://k/v3',
      OS_APPLICATION_CREDENTIAL_ID: 'a',
      OS_APPLICATION_CREDENTIAL_SECRET: 's',
    }),
  );
});

test('endpoint types: the original names and the interfaces', () => {
  assert.equal(interfaceOf(''), 'public');
  assert.equal(interfaceOf('publicURL'), 'public');
  assert.equal(interfaceOf('internalURL'), 'internal');
  assert.equal(interfaceOf('admin'), 'admin');
  assert.equal(interfaceOf('private'), undefined);
});

test('auth URLs: /v3 added when no version is named, v2.0 refused in one line', () => {
  assert.equal(v3URL('https://k:5000'), 'https://k:5000/v3');
  assert.equal(v3URL('https://k/identity/'), 'https://k/identity/v3');
  assert.equal(v3URL('https://k:5000/v3/'), 'https://k:5000/v3');
  assert.throws(
    () => v3URL('https://k:5000/v2.0'),
    /is Keystone v2.0, which this driver does not speak; give the v3 URL \(https:\/\/k:5000\/v3\)/,
  );
  assert.throws(() => v3URL('keystone'), /is not a URL/);
});

const CRED = {
  authURL: 'https://k/v3',
  userID: '',
  username: '',
  password: '',
  userDomainID: '',
  userDomainName: '',
  projectID: '',
  projectName: '',
  projectDomainID: '',
  projectDomainName: '',
  appCredID: '',
  appCredName: '',
  appCredSecret: '',
  token: '',
};

test('Keystone v3 request bodies: password by names and by ids, application credential, token', () => {
  assert.deepEqual(
    authBody({
      ...CRED,
      username: 'u',
      password: 'p',
      userDomainName: 'Default',
      projectName: 'pr',
      projectDomainID: 'default',
    }),
    {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'u', domain: { name: 'Default' }, password: 'p' } },
        },
        scope: { project: { name: 'pr', domain: { id: 'default' } } },
      },
    },
  );
  assert.deepEqual(authBody({ ...CRED, userID: 'uid', password: 'p', projectID: 'pid' }), {
    auth: {
      identity: { methods: ['password'], password: { user: { id: 'uid', password: 'p' } } },
      scope: { project: { id: 'pid' } },
    },
  });
  // An application credential carries its project: no scope (Keystone refuses one).
  assert.deepEqual(authBody({ ...CRED, appCredID: 'ac', appCredSecret: 's', projectName: 'ignored' }), {
    auth: {
      identity: { methods: ['application_credential'], application_credential: { id: 'ac', secret: 's' } },
    },
  });
  assert.deepEqual(
    authBody({ ...CRED, appCredName: 'n', appCredSecret: 's', username: 'u', userDomainID: 'd' }).auth,
    {
      identity: {
        methods: ['application_credential'],
        application_credential: { name: 'n', secret: 's', user: { name: 'u', domain: { id: 'd' } } },
      },
    },
  );
  assert.deepEqual(authBody({ ...CRED, token: 'tok', projectID: 'p' }).auth, {
    identity: { methods: ['token'], token: { id: 'tok' } },
    scope: { project: { id: 'p' } },
  });
  assert.throws(
    () => authBody({ ...CRED, username: 'u', password: 'p', projectID: 'p' }),
    /needs a domain: give --openstack-user-domain-name/,
  );
  assert.throws(() => authBody({ ...CRED, appCredID: 'a' }), /needs its secret/);
});

const CATALOG: CatalogService[] = [
  {
    type: 'compute',
    endpoints: [
      { interface: 'public', region: 'R1', url: 'https://nova.r1/v2.1/' },
      { interface: 'internal', region: 'R1', url: 'http://nova.int.r1/v2.1' },
      { interface: 'public', region: 'R2', url: 'https://nova.r2/v2.1' },
    ],
  },
  { type: 'volumev3', endpoints: [{ interface: 'public', region: 'R1', url: 'https://cinder.r1/v3/p' }] },
];

test('the catalog endpoint by type, interface and region; the missing one said with what there is', () => {
  assert.equal(endpointFor(CATALOG, ['compute'], 'public', 'R2'), 'https://nova.r2/v2.1');
  assert.equal(endpointFor(CATALOG, ['compute'], 'internal', 'R1'), 'http://nova.int.r1/v2.1');
  assert.equal(endpointFor(CATALOG, ['compute'], 'public', ''), 'https://nova.r1/v2.1');
  assert.equal(endpointFor(CATALOG, ['volumev3', 'block-storage'], 'public', 'R1'), 'https://cinder.r1/v3/p');
  assert.equal(endpointFor(CATALOG, ['compute'], 'admin', 'R1'), undefined);
  assert.match(
    missingEndpoint(CATALOG, ['compute'], 'admin', 'R1').message,
    /no compute endpoint for region R1, interface admin; it has: R1 public, R1 internal, R2 public/,
  );
  assert.throws(
    () => missingEndpoint(CATALOG, ['network'], 'public', 'R1'),
    /no network service \(it has compute, volumev3\)/,
  );
});

test("clouds.yaml: the first file found, secure.yaml merged over it, the client's keys", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-osyaml-'));
  try {
    const home = join(dir, 'home');
    await mkdir(join(home, '.config', 'openstack'), { recursive: true });
    await writeFile(
      join(home, '.config', 'openstack', 'clouds.yaml'),
      [
        'clouds:',
        '  lab:',
        '    auth:',
        '      auth_url: https://keystone.lab:5000',
        '      username: "alice"',
        '      project_name: demo',
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '    region_name: RegionTwo',
        '    interface: internal',
        '    cacert: /etc/lab-ca.pem',
        '  other:',
        '    verify: false',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(home, '.config', 'openstack', 'secure.yaml'),
      'clouds:\n  lab:\n    auth:\n      password: s3cret\n',
    );
    const env = { HOME: home };
    const lab = readCloud('lab', env, join(dir, 'cwd'));
    assert.equal(lab.auth.auth_url, 'https://keystone.lab:5000');
    assert.equal(lab.auth.username, 'alice');
    assert.equal(lab.auth.password, 's3cret');
    assert.equal(lab.regionName, 'RegionTwo');
    assert.equal(lab.interface, 'internal');
    assert.equal(lab.cacert, '/etc/lab-ca.pem');
    assert.equal(lab.insecure, false);
    assert.equal(readCloud('other', env, join(dir, 'cwd')).insecure, true);
    assert.throws(
      () => readCloud('nope', env, join(dir, 'cwd')),
      /has no cloud named nope; it has lab, other/,
    );
    // ./clouds.yaml comes first.
    await mkdir(join(dir, 'cwd'));
    await writeFile(
      join(dir, 'cwd', 'clouds.yaml'),
      'clouds:\n  lab:\n    auth:\n      auth_url: https://here/v3\n',
    );
    assert.equal(readCloud('lab', env, join(dir, 'cwd')).auth.auth_url, 'https://here/v3');
    await rm(join(dir, 'cwd'), { recursive: true });
    // Settings: the entry fills what the command line did not give; the command line wins.
    const j = settingsFromFlags(
      parseFlags([...NEED, '--openstack-cloud', 'lab', '--openstack-region', 'R9'], flags, { env }).flags,
      env,
      join(dir, 'cwd'),
    );
    assert.equal(j.AuthUrl, 'https://keystone.lab:5000');
    assert.equal(j.Password, 's3cret');
    assert.equal(j.Region, 'R9');
    assert.equal(j.EndpointType, 'internal');
    assert.equal(j.CaCert, '/etc/lab-ca.pem');
    assert.throws(
      () => readCloud('lab', { HOME: join(dir, 'empty') }, join(dir, 'cwd')),
      /no clouds.yaml in/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Nova states: BUILD is Starting (the original showed none), the rest as the original', () => {
  assert.equal(machineState('BUILD'), 'Starting');
  assert.equal(machineState('ACTIVE'), 'Running');
  assert.equal(machineState('SHUTOFF'), 'Stopped');
  assert.equal(machineState('PAUSED'), 'Paused');
  assert.equal(machineState('SUSPENDED'), 'Saved');
  assert.equal(machineState('ERROR'), 'Error');
  assert.equal(machineState('MIGRATING'), '');
});

test('addresses: floating or fixed, of the IP version, on the named network first', () => {
  const addrs = {
    priv: [
      { addr: '10.0.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' },
      { addr: 'fd00::5', version: 6, 'OS-EXT-IPS:type': 'fixed' },
      { addr: '203.0.113.9', version: 4, 'OS-EXT-IPS:type': 'floating' },
    ],
    other: [{ addr: '10.1.0.7', version: 4, 'OS-EXT-IPS:type': 'fixed' }],
  };
  assert.equal(pickAddress(addrs, { version: 4, floating: false }), '10.0.0.5');
  assert.equal(pickAddress(addrs, { version: 4, floating: false, network: 'other' }), '10.1.0.7');
  assert.equal(pickAddress(addrs, { version: 4, floating: true }), '203.0.113.9');
  assert.equal(pickAddress(addrs, { version: 6, floating: false }), 'fd00::5');
  assert.equal(pickAddress(addrs, { version: 6, floating: true }), '');
  assert.equal(pickAddress(undefined, { version: 4, floating: false }), '');
  assert.deepEqual(parseMetadata('a,1, b ,2'), { a: '1', b: '2' });
});

test('error bodies of Nova, Neutron and Keystone as one line', () => {
  assert.deepEqual(
    parseOpenStackError(404, { itemNotFound: { code: 404, message: 'Flavor x could not be found.' } }),
    {
      code: 'itemNotFound',
      message: 'Flavor x could not be found.',
    },
  );
  assert.deepEqual(
    parseOpenStackError(409, { NeutronError: { type: 'InUse', message: 'in use', detail: '' } }),
    {
      code: 'InUse',
      message: 'in use',
    },
  );
  assert.deepEqual(
    parseOpenStackError(401, { error: { code: 401, title: 'Unauthorized', message: 'nope' } }),
    {
      code: 'Unauthorized',
      message: 'nope',
    },
  );
});

test('the server request: key, user data, groups, zone, config drive, metadata, network, boot volume, group hint; inspect hides secrets', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-osbody-'));
  try {
    const ud = join(dir, 'ud');
    await writeFile(ud, '#cloud-config\n');
    const env = { OS_AUTH_URL: 'https://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'pw', OS_TENANT_ID: 't' };
    const p = parseFlags(
      [
        '--openstack-flavor-id',
        'f1',
        '--openstack-image-id',
        'img',
        '--openstack-net-id',
        'net',
        '--openstack-user-data-file',
        ud,
        '--openstack-availability-zone',
        'az1',
        '--openstack-config-drive',
        '--openstack-metadata',
        'role,web',
        '--openstack-boot-from-volume',
        '--openstack-volume-size',
        '20',
        '--openstack-volume-type',
        'ssd',
        '--openstack-sec-groups',
        'web,default',
      ],
      flags,
      { env },
    ).flags;
    const saved = process.env;
    process.env = { ...saved, ...env };
    let d: ReturnType<typeof openstackDriver.fromFlags>;
    try {
      d = openstackDriver.fromFlags(base, p);
    } finally {
      process.env = saved;
    }
    const j = d.toJSON();
    Object.assign(j, { KeyPairName: 'n1-abc', ServerGroupID: 'sg1' });
    const body = await (
      openstackDriver.fromJSON(j) as unknown as { serverBody(): Promise<Record<string, unknown>> }
    ).serverBody();
    assert.deepEqual(body, {
      server: {
        name: 'n1',
        flavorRef: 'f1',
        key_name: 'n1-abc',
        metadata: { role: 'web', 'docker-machine-id': j.MachineTag },
        user_data: Buffer.from('#cloud-config\n').toString('base64'),
        security_groups: [{ name: 'web' }, { name: 'default' }],
        availability_zone: 'az1',
        config_drive: true,
        networks: [{ uuid: 'net' }],
        block_device_mapping_v2: [
          {
            boot_index: 0,
            uuid: 'img',
            source_type: 'image',
            destination_type: 'volume',
            delete_on_termination: true,
            volume_size: 20,
            volume_type: 'ssd',
          },
        ],
      },
      'os:scheduler_hints': { group: 'sg1' },
    });
    Object.assign(j, { ApplicationCredentialSecret: 'acs', Token: 'tk' });
    const shown = JSON.stringify(withoutSecrets(j));
    for (const secret of ['pw', 'acs', 'tk']) assert.ok(!shown.includes(`"${secret}"`), `${secret} shown`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
