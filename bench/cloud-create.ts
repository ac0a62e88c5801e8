/**
 * `create -d digitalocean` or `-d hetzner` against its fake API (test/fakes/): the tool's own
 * overhead per create, that is the wall time from the process start to the moment the driver's
 * steps are done (the "Droplet address" / "Server address" line, where the SSH wait begins) minus
 * the time the server took to become running at the fake (from its create's answer to the first
 * poll that saw it running); and the API calls per create. Each create is killed at that line and
 * removed with `rm -y`, so no test host is needed. The first create (which makes the store's CA)
 * is not counted.
 *
 * With `--driver google`, the same against the Compute Engine fake (test/fakes/google/), its
 * operations DONE in their first answer and its instances RUNNING at the first read, so that
 * nothing is waited for: the wall time up to the "Instance address" line is the tool's overhead.
 * Credentials come from a service-account key whose token_uri is the fake OAuth endpoint (one
 * token per create process).
 *
 * With `--driver amazonec2`, the same against moto_server (test/fakes/amazonec2/moto.ts), whose
 * instances are running at the first DescribeInstances: there is no wait to subtract, and the
 * overhead is the wall time up to the "Instance address" line.
 *
 * With `--driver azure`, the same against the Resource Manager and Azure AD fakes
 * (test/fakes/azure/), up to the "Virtual machine address" line.
 *
 * With `--driver openstack`, the same against the Keystone, Nova and Neutron fake
 * (test/fakes/openstack/), up to the "Server address" line; its two polls of the building server
 * (MACHINE_OPENSTACK_POLL_MS=100) are inside the figure.
 *
 *   node scripts/build.mjs && node --import tsx bench/cloud-create.ts [--runs N] [--driver NAME]
 *
 * NAME is one of the table PROVIDERS below (digitalocean by default).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto } from '../test/fakes/amazonec2/moto.js';
import { FakeDigitalOcean } from '../test/fakes/digitalocean/fake.js';
import { FakeExoscale } from '../test/fakes/exoscale/fake.js';
import { FakeGoogle } from '../test/fakes/google/fake.js';
import { FakeGoogleOAuth } from '../test/fakes/google/oauth.js';
import { FakeHetzner } from '../test/fakes/hetzner/fake.js';
import { FakeOpenStack } from '../test/fakes/openstack/fake.js';
import { cleanEnv, runCLI } from '../test/helpers/cli.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'docker-machine');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const driverArg = process.argv.indexOf('--driver');
const DRIVER = driverArg > 0 ? process.argv[driverArg + 1] : 'digitalocean';
const TOKEN = 'bench-token-0123456789';

/** What differs per provider: the fake, the environment, the address line, the server's wait. */
interface Provider {
  /** The fake's calls so far, as "METHOD path" (moto: the action). */
  calls(): string[];
  /** Flags every create gets (an SSH port that fails at once where the driver has one). */
  flags: string[];
  addressLine: RegExp;
  env: Record<string, string>;
  /** ms from the create's answer to the poll that saw the server running (0: nothing waited). */
  waitMs(name: string): number;
  stop(): Promise<void>;
}

/** ms from a create's answer to the poll that saw it running, where the fake records both. */
const waited = (x: { runningAt?: number; answeredAt?: number } | undefined) =>
  x?.runningAt && x.answeredAt ? x.runningAt - x.answeredAt : 0;

const PROVIDERS: Record<string, () => Promise<Provider>> = {
  async digitalocean() {
    const fake = new FakeDigitalOcean({ token: TOKEN, addresses: ['127.0.0.1'], pollsToActive: 2 });
    await fake.start();
    return {
      calls: () => fake.calls,
      flags: ['--digitalocean-ssh-port', '1'],
      addressLine: /Droplet address: /,
      env: { DIGITALOCEAN_ACCESS_TOKEN: TOKEN, DIGITALOCEAN_API_URL: fake.url },
      waitMs: (name) => {
        const d = [...fake.droplets.values()].find((x) => x.droplet.name === name);
        return waited(d && { runningAt: d.activeAt, answeredAt: d.answeredAt });
      },
      stop: () => fake.stop(),
    };
  },
  async hetzner() {
    const fake = new FakeHetzner({ token: TOKEN, addresses: ['127.0.0.1'], actionPolls: 2 });
    await fake.start();
    return {
      calls: () => fake.calls,
      flags: ['--hetzner-ssh-port', '1'],
      addressLine: /Server address: /,
      env: { HETZNER_API_TOKEN: TOKEN, HCLOUD_ENDPOINT: fake.url },
      waitMs: (name) => waited([...fake.servers.values()].find((x) => x.server.name === name)),
      stop: () => fake.stop(),
    };
  },
  async google() {
    const oauth = new FakeGoogleOAuth();
    await oauth.start();
    const fake = new FakeGoogle({
      projects: ['bench-project'],
      addresses: ['127.0.0.1'],
      operationPolls: 0,
      acceptToken: (t) => oauth.acceptToken(t),
    });
    await fake.start();
    const keyDir = await mkdtemp(join(tmpdir(), 'dm-bench-gce-key-'));
    const key = join(keyDir, 'sa.json');
    await oauth.writeServiceAccountKey(key, oauth.addServiceAccount('bench', 'bench-project'));
    return {
      calls: () => fake.requests.map((r) => `${r.method} ${r.id || r.path}`),
      flags: ['--google-project', 'bench-project'],
      addressLine: /Instance address: /,
      env: { GOOGLE_APPLICATION_CREDENTIALS: key, GOOGLE_COMPUTE_ENDPOINT: fake.url, HOME: keyDir },
      waitMs: () => 0,
      stop: async () => {
        await fake.stop();
        await oauth.stop();
        await rm(keyDir, { recursive: true, force: true });
      },
    };
  },
  async exoscale() {
    const key = 'EXObench0123456789';
    const secret = 'bench-secret-0123456789';
    const fake = new FakeExoscale({ key, secret, addresses: ['127.0.0.1'], operationPolls: 2 });
    await fake.start();
    return {
      calls: () => fake.calls,
      flags: [],
      addressLine: /Instance address: /,
      env: { EXOSCALE_API_KEY: key, EXOSCALE_API_SECRET: secret, EXOSCALE_ENDPOINT: fake.url },
      waitMs: (name) => waited([...fake.instances.values()].find((x) => x.instance.name === name)),
      stop: () => fake.stop(),
    };
  },
  async openstack() {
    const fake = new FakeOpenStack({ addresses: ['127.0.0.1'], pollsToActive: 2 });
    await fake.start();
    return {
      calls: () => fake.requests.map((r) => `${r.method} ${r.url}`),
      flags: [
        '--openstack-username',
        'demo',
        '--openstack-password',
        'secret',
        '--openstack-tenant-name',
        'demo',
        '--openstack-domain-name',
        'Default',
        '--openstack-flavor-name',
        'm1.small',
        '--openstack-image-name',
        'debian-12',
        '--openstack-net-name',
        'private',
        '--openstack-ssh-port',
        '1',
      ],
      addressLine: /Server address: /,
      env: { OS_AUTH_URL: fake.authUrl, MACHINE_OPENSTACK_POLL_MS: '100' },
      waitMs: () => 0,
      stop: () => fake.close(),
    };
  },
  azure: azureProvider,
  /** moto's instances are running at the first DescribeInstances: nothing to subtract. */
  async amazonec2() {
    const moto = new Moto();
    await moto.start();
    const net = await moto.network('127.0.7.0/24');
    return {
      calls: () => moto.calls,
      flags: [
        '--amazonec2-ami',
        'ami-12c6146b',
        '--amazonec2-subnet-id',
        net.subnet,
        '--amazonec2-use-private-address',
        '--amazonec2-ssh-port',
        '1',
      ],
      addressLine: /Instance address: /,
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDBENCH',
        AWS_SECRET_ACCESS_KEY: 'bench-secret',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL_EC2: moto.proxyUrl,
      },
      waitMs: () => 0,
      stop: () => moto.stop(),
    };
  },
};

/**
 * Resource Manager and Azure AD fakes signed by one CA file. Their operations answer Succeeded at
 * the first poll with Retry-After 0, so the driver's own floor between polls (100 ms) is part of
 * the overhead measured; the VM is running when its create operation ends (no wait to subtract).
 */
async function azureProvider(): Promise<Provider> {
  const { FakeAzure } = await import('../test/fakes/azure/arm.js');
  const { FakeAzureAD } = await import('../test/fakes/azure/aad.js');
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const sub = '6a1b9c3e-5f2d-4e8a-9b7c-0d1e2f3a4b5c';
  const client = '0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';
  const secret = 'bench-secret-0123456789';
  const aad = new FakeAzureAD();
  await aad.start();
  aad.addTenant(tenant);
  aad.registerApp({ clientId: client, secret, tenant });
  const fake = new FakeAzure({
    subscriptionId: sub,
    tenantId: tenant,
    authorityHost: aad.url,
    acceptToken: (t) => aad.acceptToken(t),
    publicAddresses: ['127.0.0.1'],
    lroPolls: 0,
    retryAfter: 0,
  });
  await fake.start();
  const { readFile, writeFile } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-azure-ca-'));
  const bundle = join(dir, 'ca.pem');
  await writeFile(bundle, `${await readFile(aad.caPath, 'utf8')}\n${await readFile(fake.caPath, 'utf8')}`);
  const requests = fake.requests;
  return {
    calls: () => requests.map((r) => `${r.method} ${r.path.replace(/\/(b\d+|warmup)(?=\/|-|$)/g, '/{m}')}`),
    flags: [],
    addressLine: /Virtual machine address: /,
    env: {
      NODE_EXTRA_CA_CERTS: bundle,
      AZURE_SUBSCRIPTION_ID: sub,
      AZURE_CLIENT_ID: client,
      AZURE_CLIENT_SECRET: secret,
      AZURE_RESOURCE_MANAGER_ENDPOINT: fake.url,
      AZURE_AUTHORITY_HOST: aad.url,
    },
    waitMs: () => 0,
    stop: async () => {
      await fake.stop();
      await aad.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const make = PROVIDERS[DRIVER];
if (!make) throw new Error(`--driver ${DRIVER}: one of ${Object.keys(PROVIDERS).join(', ')}`);
const store = await mkdtemp(join(tmpdir(), `dm-bench-${DRIVER}-`));
const fake = await make();
const env = { MACHINE_STORAGE_PATH: store, ...fake.env };
/** One create up to its address line: wall ms and the fake's calls during it. */
async function once(name: string): Promise<{ wallMs: number; waitMs: number; calls: string[] }> {
  const before = fake.calls().length;
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'create', '-d', DRIVER, ...fake.flags, name], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const wallMs = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (fake.addressLine.test(out)) {
        const ms = performance.now() - t0;
        child.kill('SIGKILL');
        resolve(ms);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`create ${name} ended before its address line:\n${out}`)));
  });
  const calls = fake.calls().slice(before);
  const waitMs = fake.waitMs(name);
  const r = await runCLI(['rm', '-y', name], { env });
  if (r.code !== 0) throw new Error(`rm ${name}: ${r.stderr}`);
  return { wallMs, waitMs, calls };
}

try {
  await once('warmup');
  const results = [];
  for (let i = 0; i < RUNS; i++) results.push(await once(`b${i}`));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const overhead = results.map((r) => r.wallMs - r.waitMs);
  console.log(
    `${DRIVER}: cpus ${cpus().length} (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0].toFixed(2)}, runs ${RUNS}`,
  );
  for (const [i, r] of results.entries()) {
    console.log(
      `b${i}: wall ${r.wallMs.toFixed(0)} ms, server wait ${r.waitMs} ms, overhead ${(r.wallMs - r.waitMs).toFixed(0)} ms, ${r.calls.length} API calls`,
    );
  }
  const sorted = [...overhead].sort((a, b) => a - b);
  console.log(
    `median overhead ${median(overhead).toFixed(0)} ms (${sorted[0].toFixed(0)}-${sorted[sorted.length - 1].toFixed(0)}); API calls per create: ${results[0].calls.length}`,
  );
  const byRoute = new Map<string, number>();
  for (const c of results[0].calls) byRoute.set(c, (byRoute.get(c) ?? 0) + 1);
  console.log([...byRoute].map(([k, v]) => `${v}x ${k}`).join('; '));
} finally {
  await fake.stop();
  await rm(store, { recursive: true, force: true });
}
