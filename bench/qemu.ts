/**
 * One qemu machine from a cached image to a ready engine, under software emulation (TCG), with
 * the split of its time: boot to SSH, provisioning, engine ready. The baseline of the same run is
 * a bare boot of the same image with the same QEMU settings and nothing else (no provisioning):
 * the time from starting QEMU to the guest's SSH banner; the ratio create / bare boot says what
 * the driver adds to the VM's own boot. Target (issue 6): under 30 s.
 *
 *   npm run bench:qemu [-- --runs N]
 *
 * Needs root, qemu-system-x86_64, qemu-img and debootstrap, like the end-to-end tests; it uses
 * the image cache the tests share and removes every machine it made.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sshBanner } from '../src/drivers/loopback.js';
import type { Accel } from '../src/drivers/qemu/accel.js';
import { createOverlay } from '../src/drivers/qemu/disk.js';
import type { BootImage } from '../src/drivers/qemu/image.js';
import { writeSeed } from '../src/drivers/qemu/seed.js';
import { startVM, vmFiles } from '../src/drivers/qemu/vm.js';
import { generateSSHKeyPair } from '../src/ssh/keys.js';
import { cleanEnv } from '../test/helpers/cli.js';
import { cacheDir } from '../test/helpers/testhost.js';

const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'docker-machine.cjs');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

/** Marks in create's output, in order: each one's first appearance is timed. */
const MARKS = {
  start: /\(\S+\) Starting the VM/,
  ssh: /^Waiting for machine to be running/,
  provisioning: /^Provisioning with /,
  checking: /^Checking connection to Docker/,
  ready: /^Docker is up and running!/,
};
type Mark = keyof typeof MARKS;

function timedCreate(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<{ total: number; at: Record<Mark, number> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const at = {} as Record<Mark, number>;
    const child = spawn(
      process.execPath,
      [
        bundle,
        'create',
        '-d',
        'qemu',
        '--qemu-image',
        'build',
        '--qemu-restrict',
        '--qemu-cpu-count',
        '2',
        name,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        for (const [k, re] of Object.entries(MARKS) as [Mark, RegExp][]) {
          if (at[k] === undefined && re.test(line)) at[k] = performance.now() - t0;
        }
      }
    });
    child.stderr.on('data', (d) => (out += d));
    const bound = setTimeout(() => child.kill('SIGKILL'), 1_800_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(bound);
      if (code !== 0) return reject(new Error(`create ${name} failed (exit ${code}):\n${out}`));
      resolve({ total: performance.now() - t0, at });
    });
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bundle, ...args], { env, stdio: 'ignore' });
    c.on('close', (code) => resolve(code ?? -1));
  });
}

/** QEMU started directly with the machine's settings, timed to the guest's SSH banner. */
async function bareBoot(store: string, boot: BootImage, accel: Accel): Promise<number> {
  const dir = await mkdtemp(join(store, 'bare-'));
  const files = vmFiles(dir);
  await createOverlay(boot, files.disk, 20000);
  const { publicLine } = await generateSSHKeyPair(join(dir, 'id_rsa'));
  await writeSeed(dir, {
    hostname: 'bare',
    user: 'docker',
    publicKey: publicLine.trim(),
    instanceId: 'bare',
  });
  const [sshPort, enginePort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const pid = await startVM({
    name: 'bare',
    binary: 'qemu-system-x86_64',
    accel,
    cpus: 2,
    memoryMB: 1024,
    boot,
    files,
    sshPort,
    enginePort,
    restrict: true,
  });
  try {
    for (;;) {
      try {
        await sshBanner('127.0.0.1', sshPort, 2000);
        return performance.now() - t0;
      } catch {
        if (performance.now() - t0 > 300_000) throw new Error('the bare VM did not reach SSH in 300 s');
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const store = await mkdtemp(join(tmpdir(), 'dm-bench-qemu-'));
  const shared = join(cacheDir(), 'qemu', 'images');
  await mkdir(shared, { recursive: true });
  await mkdir(join(store, 'cache', 'qemu'), { recursive: true });
  await symlink(shared, join(store, 'cache', 'qemu', 'images'));
  const env = cleanEnv({ MACHINE_STORAGE_PATH: store });
  try {
    // The first create builds the image if the cache has none: not part of the figures.
    console.log('warming: building or finding the image...');
    await timedCreate('warm', env);
    const warm = JSON.parse(await readFile(join(store, 'machines', 'warm', 'config.json'), 'utf8')).Driver;
    await cli(['rm', '-f', '-y', 'warm'], env);
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) bare.push(await bareBoot(store, warm.Boot, warm.AccelUsed));
    const rows: { total: number; at: Record<Mark, number> }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await timedCreate(`b${i}`, env);
      rows.push(r);
      await cli(['rm', '-f', '-y', `b${i}`], env);
      console.log(
        `run ${i + 1}: total ${s(r.total)}; boot to SSH ${s(r.at.ssh - r.at.start)}; provisioning ${s(r.at.checking - r.at.provisioning)}; engine ready ${s(r.at.ready - r.at.checking)}`,
      );
    }
    const m = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
    console.log(`\n${cpus().length} CPUs (${cpus()[0]?.model}), load average ${loadavg()[0].toFixed(1)}`);
    console.log(`baseline, a bare boot of the same image to SSH: ${s(median(bare))}`);
    console.log(`create / bare boot: ${(m((r) => r.total) / median(bare)).toFixed(2)}`);
    console.log('| part | median |');
    console.log('|---|---|');
    console.log(`| create, command start to "Docker is up and running!" | ${s(m((r) => r.total))} |`);
    console.log(
      `| before QEMU starts (key, accelerator probe, image, disk, seed) | ${s(m((r) => r.at.start))} |`,
    );
    console.log(`| QEMU start to the guest's SSH banner (boot) | ${s(m((r) => r.at.ssh - r.at.start))} |`);
    console.log(
      `| SSH up to provisioning start (OS detection) | ${s(m((r) => r.at.provisioning - r.at.ssh))} |`,
    );
    console.log(
      `| provisioning (certificates, engine options, restart) | ${s(m((r) => r.at.checking - r.at.provisioning))} |`,
    );
    console.log(`| engine answering over TLS | ${s(m((r) => r.at.ready - r.at.checking))} |`);
    console.log(`target: under 30 s — ${m((r) => r.total) < 30_000 ? 'met' : 'not met'}`);
  } finally {
    await rm(store, { recursive: true, force: true });
  }
}

await main();
