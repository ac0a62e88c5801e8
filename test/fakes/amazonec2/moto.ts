import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ec2, filters } from '../../../src/drivers/amazonec2/ec2.js';
import { instancesOf } from '../../../src/drivers/amazonec2/state.js';
import { list, obj, text } from '../../../src/drivers/amazonec2/xml.js';
import { onProcessEnd } from '../../helpers/cleanup.js';
import { freePort } from '../../helpers/ports.js';

/**
 * moto_server (../shared/reference/clouds.md §1.6) started by the test on 127.0.0.1 with the
 * AMI, key pair and instance type checks on, stopped by its pid; and in front of it a proxy of
 * the test's own that counts calls, throttles like EC2 (HTTP 503 RequestLimitExceeded) and
 * answers chosen actions with chosen errors. Drivers are pointed at the proxy.
 */
export const MOTO_ENV = {
  MOTO_ENABLE_AMI_VALIDATION: 'true',
  MOTO_ENABLE_KEYPAIR_VALIDATION: 'true',
  MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION: 'true',
};

/** moto_server on PATH, else the python3 first on PATH with moto installed; why not, if neither. */
export function motoCommand(): { cmd: string; args: string[] } | { missing: string } {
  try {
    const p = execFileSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).trim();
    if (p) return { cmd: p, args: [] };
  } catch {}
  try {
    execFileSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
    return { cmd: 'python3', args: ['-m', 'moto.server'] };
  } catch {}
  return { missing: 'neither moto_server nor python3 with moto (pip install "moto[server]") is on PATH' };
}

interface Injected {
  action: string;
  status: number;
  code: string;
  message: string;
}

/**
 * Images for a moto that must know Canonical's (MOTO_AMIS_PATH replaces its own list; moto reads
 * the file's dates once, so its reset fails afterwards: use such a moto for one test): one plain image, and
 * Canonical-named Ubuntu images as the default-image lookup finds them in AWS, two generations of
 * amd64 and one arm64, with a root device other than moto's usual /dev/sda1.
 */
export const TEST_AMIS = [
  {
    ami_id: 'ami-12c6146b',
    name: 'plain-test-image',
    owner_id: '801119661308',
    root_device_name: '/dev/sda1',
  },
  {
    ami_id: 'ami-0noble0amd640old',
    name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423',
    owner_id: '099720109477',
    architecture: 'x86_64',
    creation_date: '2024-04-23T10:00:00.000Z',
    root_device_name: '/dev/xvda',
  },
  {
    ami_id: 'ami-0noble0amd640new',
    name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251120',
    owner_id: '099720109477',
    architecture: 'x86_64',
    creation_date: '2025-11-20T10:00:00.000Z',
    root_device_name: '/dev/xvda',
  },
  {
    ami_id: 'ami-0noble0arm640new',
    name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20251120',
    owner_id: '099720109477',
    architecture: 'arm64',
    creation_date: '2025-11-20T10:00:00.000Z',
    root_device_name: '/dev/xvda',
  },
  {
    // Same name pattern, another owner: never chosen.
    ami_id: 'ami-0impostor0000001',
    name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261201',
    owner_id: '123456789012',
    architecture: 'x86_64',
    creation_date: '2026-12-01T10:00:00.000Z',
  },
].map((a) => ({
  state: 'available',
  public: true,
  image_type: 'machine',
  virtualization_type: 'hvm',
  hypervisor: 'xen',
  root_device_type: 'ebs',
  architecture: 'x86_64',
  ...a,
}));

export class Moto {
  url = '';
  /** The proxy drivers talk to. */
  proxyUrl = '';
  calls: string[] = [];
  /** Every request's form, in order. */
  forms: URLSearchParams[] = [];
  /** The access key id each request was signed with, and whether it carried a session token. */
  signers: { keyId: string; token: boolean }[] = [];
  throttled = 0;
  private child: ChildProcess | undefined;
  private dir = '';
  private forget: (() => void) | undefined;
  private proxy: Server | undefined;
  private inject: Injected[] = [];
  private rate: { limit: number; windowMs: number; times: number[] } | undefined;
  /** Actions whose answer is held this long after moto answered: a kill lands in between. */
  holdMs = 0;
  holdActions = new Set<string>();
  onAction: ((action: string) => void) | undefined;
  /** An answer of moto changed on its way (to add what AWS sends and moto leaves out). */
  rewrite = new Map<string, (xml: string) => string>();
  readonly ec2: () => Ec2;

  constructor(
    private readonly region = 'us-east-1',
    private readonly amis?: object[],
  ) {
    this.ec2 = () =>
      new Ec2({
        endpoint: this.url,
        region: this.region,
        credentials: () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }),
        retries: 0,
      });
  }

  async start(): Promise<void> {
    const found = motoCommand();
    if ('missing' in found) throw new Error(`cannot start moto_server: ${found.missing}`);
    const port = await freePort();
    const amisEnv: NodeJS.ProcessEnv = {};
    if (this.amis) {
      this.dir = await mkdtemp(join(tmpdir(), 'dm-moto-'));
      amisEnv.MOTO_AMIS_PATH = join(this.dir, 'amis.json');
      await writeFile(amisEnv.MOTO_AMIS_PATH, JSON.stringify(this.amis));
    }
    const child = spawn(found.cmd, [...found.args, '-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, ...MOTO_ENV, ...amisEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.forget = onProcessEnd(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr?.on('data', (d) => {
      err = (err + d).slice(-2000);
    });
    this.url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${err}`);
      const ok = await fetch(`${this.url}/moto-api/`).then(
        (r) => r.status < 500,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`moto_server did not answer within 30 s: ${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    this.proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const form = new URLSearchParams(body.toString());
        const action = form.get('Action') ?? '';
        this.calls.push(action);
        this.forms.push(form);
        this.signers.push({
          keyId: /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? '',
          token: !!req.headers['x-amz-security-token'],
        });
        this.onAction?.(action);
        const fail = (status: number, code: string, message: string) => {
          res.writeHead(status, { 'content-type': 'text/xml' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-${this.calls.length}</RequestID></Response>`,
          );
        };
        if (this.rate) {
          const now = Date.now();
          this.rate.times = this.rate.times.filter((t) => now - t < this.rate!.windowMs);
          if (this.rate.times.length >= this.rate.limit) {
            this.throttled++;
            return fail(503, 'RequestLimitExceeded', 'Request limit exceeded.');
          }
          this.rate.times.push(now);
        }
        const i = this.inject.findIndex((x) => x.action === action);
        if (i >= 0) {
          const [x] = this.inject.splice(i, 1);
          return fail(x.status, x.code, x.message);
        }
        const up = request(
          `${this.url}${req.url}`,
          { method: req.method, headers: { ...req.headers, host: new URL(this.url).host } },
          (r) => {
            const out: Buffer[] = [];
            r.on('data', (c: Buffer) => out.push(c));
            r.on('end', () => {
              const send = () => {
                const rewrite = this.rewrite.get(action);
                const body = rewrite
                  ? Buffer.from(rewrite(Buffer.concat(out).toString()))
                  : Buffer.concat(out);
                res.writeHead(r.statusCode ?? 502, { ...r.headers, 'content-length': String(body.length) });
                res.end(body);
              };
              if (this.holdMs && this.holdActions.has(action)) setTimeout(send, this.holdMs);
              else send();
            });
          },
        );
        up.on('error', (e) => fail(502, 'ProxyError', e.message));
        up.end(body);
      });
    });
    await new Promise<void>((r) => this.proxy!.listen(0, '127.0.0.1', r));
    this.proxyUrl = `http://127.0.0.1:${(this.proxy.address() as AddressInfo).port}`;
  }

  /** The next call of `action` is answered with this error instead of reaching moto. */
  failNext(action: string, status: number, code: string, message: string): void {
    this.inject.push({ action, status, code, message });
  }

  /** At most `limit` requests per `windowMs` for everyone; the rest get RequestLimitExceeded. */
  throttle(limit: number, windowMs: number): void {
    this.rate = { limit, windowMs, times: [] };
  }

  async reset(): Promise<void> {
    await fetch(`${this.url}/moto-api/reset`, { method: 'POST' });
    this.calls = [];
    this.forms = [];
    this.signers = [];
    this.throttled = 0;
    this.inject = [];
    this.rate = undefined;
    this.holdMs = 0;
    this.holdActions.clear();
    this.onAction = undefined;
    this.rewrite.clear();
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.proxy ? this.proxy.close(() => r()) : r()));
    this.proxy?.closeAllConnections();
    const child = this.child;
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    this.forget?.();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** A VPC and subnet of the given CIDR, in the region's zone a. */
  async network(cidr: string): Promise<{ vpc: string; subnet: string }> {
    const c = this.ec2();
    const vpc = text(obj((await c.call('CreateVpc', { CidrBlock: cidr })).vpc).vpcId);
    const subnet = text(
      obj(
        (await c.call('CreateSubnet', { VpcId: vpc, CidrBlock: cidr, AvailabilityZone: `${this.region}a` }))
          .subnet,
      ).subnetId,
    );
    return { vpc, subnet };
  }

  /** What exists now that a create could have made: instances not terminated, key pairs, groups, open spot requests. */
  async inventory(): Promise<{ instances: string[]; keys: string[]; groups: string[]; spot: string[] }> {
    const c = this.ec2();
    const instances = instancesOf(
      await c.call(
        'DescribeInstances',
        filters({ 'instance-state-name': ['pending', 'running', 'stopping', 'stopped'] }),
      ),
    ).map((i) => i.id);
    const keys = list((await c.call('DescribeKeyPairs')).keySet).map((k) => text(obj(k).keyName));
    const groups = list((await c.call('DescribeSecurityGroups')).securityGroupInfo)
      .map((g) => text(obj(g).groupName))
      .filter((n) => n !== 'default');
    const spot = list((await c.call('DescribeSpotInstanceRequests')).spotInstanceRequestSet)
      .map(obj)
      .filter((r) => !['cancelled', 'closed'].includes(text(r.state)))
      .map((r) => text(r.spotInstanceRequestId));
    return { instances, keys: keys.sort(), groups: groups.sort(), spot };
  }
}
