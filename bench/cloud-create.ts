/**
 * `create -d digitalocean` or `-d hetzner` against its fake API (test/fakes/): the tool's own
 * overhead per create, that is the wall time from the process start to the moment the driver's
 * steps are done (the "Droplet address" / "Server address" line, where the SSH wait begins) minus
 * the time the server took to become running at the fake (from its create's answer to the first
 * poll that saw it running); and the API calls per create. Each create is killed at that line and
 * removed with `rm -y`, so no test host is needed. The first create (which makes the store's CA)
 * is not counted.
 *
 * With `--driver amazonec2`, the same against moto_server (test/fakes/amazonec2/moto.ts), whose
 * instances are running at the first DescribeInstances: there is no wait to subtract, and the
 * overhead is the wall time up to the "Instance address" line.
 *
 *   node scripts/build.mjs && node --import tsx bench/cloud-create.ts [--runs N] [--driver hetzner|exoscale|amazonec2]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto } from '../test/fakes/amazonec2/moto.js';
import { FakeDigitalOcean } from '../test/fakes/digitalocean/fake.js';
import { FakeExoscale } from '../test/fakes/exoscale/fake.js';
import { FakeHetzner } from '../test/fakes/hetzner/fake.js';
import { cleanEnv, runCLI } from '../test/helpers/cli.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'docker-machine');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const driverArg = process.argv.indexOf('--driver');
const DRIVER = driverArg > 0 ? process.argv[driverArg + 1] : 'digitalocean';
const TOKEN = 'bench-token-0123456789';
if (DRIVER === 'amazonec2') {
  await benchEC2();
  process.exit(0);
}

/** What differs per provider: the fake, the environment, the address line, the server's wait. */
interface Provider {
  url: string;
  calls: string[];
  addressLine: RegExp;
  env: Record<string, string>;
  /** ms from the create's answer to the poll that saw the server running. */
  waitMs(name: string): number;
  stop(): Promise<void>;
}

async function provider(): Promise<Provider> {
  if (DRIVER === 'hetzner') {
    const fake = new FakeHetzner({ token: TOKEN, addresses: ['127.0.0.1'], actionPolls: 2 });
    await fake.start();
    return {
      url: fake.url,
      calls: fake.calls,
      addressLine: /Server address: /,
      env: { HETZNER_API_TOKEN: TOKEN, HCLOUD_ENDPOINT: fake.url },
      waitMs: (name) => {
        const s = [...fake.servers.values()].find((x) => x.server.name === name);
        return s?.runningAt && s.answeredAt ? s.runningAt - s.answeredAt : 0;
      },
      stop: () => fake.stop(),
    };
  }
  if (DRIVER === 'exoscale') {
    const key = 'EXObench0123456789';
    const secret = 'bench-secret-0123456789';
    const fake = new FakeExoscale({ key, secret, addresses: ['127.0.0.1'], operationPolls: 2 });
    await fake.start();
    return {
      url: fake.url,
      calls: fake.calls,
      addressLine: /Instance address: /,
      env: { EXOSCALE_API_KEY: key, EXOSCALE_API_SECRET: secret, EXOSCALE_ENDPOINT: fake.url },
      waitMs: (name) => {
        const s = [...fake.instances.values()].find((x) => x.instance.name === name);
        return s?.runningAt && s.answeredAt ? s.runningAt - s.answeredAt : 0;
      },
      stop: () => fake.stop(),
    };
  }
  if (DRIVER !== 'digitalocean') throw new Error(`--driver ${DRIVER}: digitalocean, hetzner or exoscale`);
  const fake = new FakeDigitalOcean({ token: TOKEN, addresses: ['127.0.0.1'], pollsToActive: 2 });
  await fake.start();
  return {
    url: fake.url,
    calls: fake.calls,
    addressLine: /Droplet address: /,
    env: { DIGITALOCEAN_ACCESS_TOKEN: TOKEN, DIGITALOCEAN_API_URL: fake.url },
    waitMs: (name) => {
      const d = [...fake.droplets.values()].find((x) => x.droplet.name === name);
      return d?.activeAt && d.answeredAt ? d.activeAt - d.answeredAt : 0;
    },
    stop: () => fake.stop(),
  };
}

const store = await mkdtemp(join(tmpdir(), `dm-bench-${DRIVER}-`));
const fake = await provider();
const env = { MACHINE_STORAGE_PATH: store, ...fake.env };

/** One create up to its address line: wall ms and the fake's calls during it. */
async function once(name: string): Promise<{ wallMs: number; waitMs: number; calls: string[] }> {
  const before = fake.calls.length;
  const t0 = performance.now();
  // Exoscale has no SSH port flag: the kill at the address line comes before any SSH.
  const sshPort = DRIVER === 'exoscale' ? [] : [`--${DRIVER}-ssh-port`, '1'];
  const child = spawn(process.execPath, [bin, 'create', '-d', DRIVER, ...sshPort, name], {
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
  const calls = fake.calls.slice(before);
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
  console.log(
    `median overhead ${median(overhead).toFixed(0)} ms; API calls per create: ${results[0].calls.length}`,
  );
  const byRoute = new Map<string, number>();
  for (const c of results[0].calls) byRoute.set(c, (byRoute.get(c) ?? 0) + 1);
  console.log([...byRoute].map(([k, v]) => `${v}x ${k}`).join('; '));
} finally {
  await fake.stop();
  await rm(store, { recursive: true, force: true });
}

/** The amazonec2 driver against moto_server, up to its "Instance address" line. */
async function benchEC2(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-ec2-'));
  const moto = new Moto();
  await moto.start();
  try {
    const net = await moto.network('127.0.7.0/24');
    const env = {
      MACHINE_STORAGE_PATH: dir,
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_EC2: moto.proxyUrl,
    };
    const flags = [
      '--amazonec2-ami',
      'ami-12c6146b',
      '--amazonec2-subnet-id',
      net.subnet,
      '--amazonec2-use-private-address',
      '--amazonec2-ssh-port',
      '1',
    ];
    const one = async (name: string) => {
      const before = moto.calls.length;
      const t0 = performance.now();
      const child = spawn(process.execPath, [bin, 'create', '-d', 'amazonec2', ...flags, name], {
        env: cleanEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const wallMs = await new Promise<number>((resolve, reject) => {
        const onData = (d: Buffer) => {
          out += d;
          if (/Instance address: /.test(out)) {
            const ms = performance.now() - t0;
            child.kill('SIGKILL');
            resolve(ms);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', () => reject(new Error(`create ${name} ended before its address line:\n${out}`)));
      });
      const calls = moto.calls.slice(before);
      const r = await runCLI(['rm', '-y', name], { env });
      if (r.code !== 0) throw new Error(`rm ${name}: ${r.stderr}`);
      return { wallMs, calls };
    };
    await one('warmup');
    const results = [];
    for (let i = 0; i < RUNS; i++) results.push(await one(`e${i}`));
    const walls = results.map((r) => r.wallMs).sort((a, b) => a - b);
    console.log(
      `cpus ${cpus().length} (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0].toFixed(2)}, runs ${RUNS}`,
    );
    for (const [i, r] of results.entries())
      console.log(`e${i}: overhead ${r.wallMs.toFixed(0)} ms, ${r.calls.length} API calls`);
    console.log(
      `median overhead ${walls[Math.floor(walls.length / 2)].toFixed(0)} ms (${walls[0].toFixed(0)}-${walls[walls.length - 1].toFixed(0)}); API calls per create: ${results[0].calls.length}`,
    );
    const byAction = new Map<string, number>();
    for (const c of results[0].calls) byAction.set(c, (byAction.get(c) ?? 0) + 1);
    console.log([...byAction].map(([k, v]) => `${v}x ${k}`).join('; '));
  } finally {
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
