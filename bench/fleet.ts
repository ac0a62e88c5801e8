/**
 * A fleet of docker-driver machines on one engine: wall time of `create -d docker` for 1 machine
 * (with the time of each of its steps), and for 10 machines until `ls` shows every one Running
 * with its engine version, created two ways: one fleet command (`create -d docker f1 ... f10`)
 * and 10 concurrent create processes; memory per idle machine from each container's cgroup
 * (docker stats reads 0 here); and, as the baseline of the same run, `docker run -d` of the same
 * image plus `docker rm -f` on the same engine. Target (issue 5): 10 machines under 30 s.
 *
 *   npm run bench:fleet [-- --machines N] [-- --idle SECONDS]
 *
 * Needs root, dockerd and debootstrap, like the end-to-end tests: it starts its own engine (its
 * own bridge, no iptables), uses the image cache the tests share, and removes what it made by id.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onProcessEnd } from '../test/helpers/cleanup.js';
import { cleanEnv } from '../test/helpers/cli.js';
import { cacheDir, type HostEngine, startHostEngine, testHostsAvailable } from '../test/helpers/testhost.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'docker-machine.cjs');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FLEET = arg('--machines', 10);
const IDLE_S = arg('--idle', 30);
const BASELINE_RUNS = 5;

interface Result {
  ms: number;
  code: number;
  out: string;
  /** Each output line with the ms since the start at which it arrived. */
  lines: [number, string][];
}

function cli(args: string[], env: NodeJS.ProcessEnv, limitMs = 900_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bundle, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const lines: [number, string][] = [];
    const partial = { stdout: '', stderr: '' };
    const on = (which: 'stdout' | 'stderr') => (d: Buffer) => {
      out += d;
      const parts = (partial[which] + d).split('\n');
      partial[which] = parts.pop() ?? '';
      for (const l of parts) lines.push([performance.now() - t0, l]);
    };
    child.stdout.on('data', on('stdout'));
    child.stderr.on('data', on('stderr'));
    const bound = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ ms: performance.now() - t0, code: code ?? -1, out, lines });
    });
  });
}

function must(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out}`);
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => (ms / 1000).toFixed(1);
const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

/** `ls` until every name is Running with an engine version, bounded; ms when that first held. */
async function allAnswer(
  names: string[],
  env: NodeJS.ProcessEnv,
  t0: number,
  limitMs: number,
): Promise<number> {
  const deadline = performance.now() + limitMs;
  let last = '';
  while (performance.now() < deadline) {
    const r = await cli(['ls', '--format', '{{.Name}} {{.State}} {{.DockerVersion}}'], env, 60_000);
    last = r.out;
    const rows = new Map(
      r.out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [n, state, version] = l.split(' ');
          return [n, `${state} ${version ?? ''}`] as const;
        }),
    );
    if (names.every((n) => /^Running v\d/.test(rows.get(n) ?? ''))) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not all of ${names.join(' ')} answered within ${limitMs / 1000} s; last ls:\n${last}`);
}

/** The container's memory cgroup (v1 or v2), found from its init process as the host sees it. */
async function memoryOf(engine: HostEngine, id: string): Promise<{ usage: number; anon: number }> {
  const pid = (await engine.docker(['inspect', '-f', '{{.State.Pid}}', id])).trim();
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  const line = v1 ?? lines.find((l) => l.startsWith('0::'));
  if (!line) throw new Error(`no memory cgroup for pid ${pid}`);
  const path = line.split(':').slice(2).join(':');
  // systemd in the container moves itself into a child (init.scope): count the whole container.
  const parts = path.split('/');
  const at = parts.findIndex((p) => p.includes(id));
  const cg = (at >= 0 ? parts.slice(0, at + 1) : parts).join('/');
  const dir = v1 ? `/sys/fs/cgroup/memory${cg}` : `/sys/fs/cgroup${cg}`;
  const usage = Number(
    (await readFile(join(dir, v1 ? 'memory.usage_in_bytes' : 'memory.current'), 'utf8')).trim(),
  );
  const stat = new Map(
    (await readFile(join(dir, 'memory.stat'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [k, v] = l.split(' ');
        return [k, Number(v)] as const;
      }),
  );
  return { usage, anon: (v1 ? stat.get('total_rss') : stat.get('anon')) ?? Number.NaN };
}

async function main(): Promise<void> {
  if (!testHostsAvailable())
    throw new Error('needs root, dockerd, debootstrap and ip (npm test installs them)');
  const loadStart = load();
  const pool = `172.27.${Math.floor(Math.random() * 256)}.0/24`;
  const engine = await startHostEngine({ dockerdArgs: ['--default-address-pool', `base=${pool},size=26`] });
  const dockerHost = `unix://${engine.dockerd.socket}`;
  const store = await mkdtemp(join(tmpdir(), 'dm-bench-fleet-'));
  const made = new Set<string>();
  const removeMade = async () => {
    const ids = (await engine.docker(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
    if (ids.length) await engine.docker(['rm', '-f', '-v', ...ids]).catch(() => '');
    const vols = (await engine.docker(['volume', 'ls', '-q']).catch(() => '')).split('\n').filter(Boolean);
    if (vols.length) await engine.docker(['volume', 'rm', '-f', ...vols]).catch(() => '');
    const nets = (await engine.docker(['network', 'ls', '-q', '--filter', 'type=custom']).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    if (nets.length) await engine.docker(['network', 'rm', ...nets]).catch(() => '');
  };
  // The engine is ours alone, so everything on it is ours; containers outlive a killed engine.
  const forget = onProcessEnd(() => {
    const list = (a: string[]) =>
      execFileSync('docker', ['-H', dockerHost, ...a])
        .toString()
        .split('\n')
        .filter(Boolean);
    const ids = list(['ps', '-aq']);
    if (ids.length) execFileSync('docker', ['-H', dockerHost, 'rm', '-f', '-v', ...ids], { stdio: 'ignore' });
    const nets = list(['network', 'ls', '-q', '--filter', 'type=custom']);
    if (nets.length)
      execFileSync('docker', ['-H', dockerHost, 'network', 'rm', ...nets], { stdio: 'ignore' });
  });
  try {
    const shared = join(cacheDir(), 'docker-driver');
    await mkdir(shared, { recursive: true });
    await mkdir(join(store, 'cache'), { recursive: true });
    await symlink(shared, join(store, 'cache', 'docker-driver'));
    const env = cleanEnv({ MACHINE_STORAGE_PATH: store });
    const create = (name: string) => {
      made.add(name);
      return cli(['create', '-d', 'docker', '--docker-host', dockerHost, name], env);
    };

    // The first create brings the image onto this new engine (import of the cached root file
    // system, or a debootstrap build when there is no cache) and makes the CA and the network.
    const warm = must(await create('warm'), 'create warm');
    const warmId = JSON.parse(await readFile(join(store, 'machines', 'warm', 'config.json'), 'utf8')).Driver
      .ContainerID as string;
    const image = (await engine.docker(['inspect', '-f', '{{.Config.Image}}', warmId])).trim();
    must(await cli(['rm', '-y', 'warm'], env), 'rm warm');
    made.delete('warm');

    // Baseline: the engine's own cost of a container of this image, started and removed.
    const baseline: number[] = [];
    for (let i = 0; i < BASELINE_RUNS; i++) {
      const t0 = performance.now();
      const id = (await engine.docker(['run', '-d', image])).trim();
      await engine.docker(['rm', '-f', id]);
      baseline.push(performance.now() - t0);
    }

    made.add('one');
    const one = must(
      await cli(['--debug', 'create', '-d', 'docker', '--docker-host', dockerHost, 'one'], env),
      'create one',
    );
    const oneAnswer = await allAnswer(['one'], env, performance.now() - one.ms, 60_000);
    must(await cli(['rm', '-y', 'one'], env), 'rm one');
    made.delete('one');

    // The fleet command: one process creates them all.
    const names = Array.from({ length: FLEET }, (_, i) => `f${i + 1}`);
    const loadBefore = load();
    let t0 = performance.now();
    for (const n of names) made.add(n);
    const fleet = must(
      await cli(['create', '-d', 'docker', '--docker-host', dockerHost, ...names], env),
      'create fleet',
    );
    const fleetDone = performance.now() - t0;
    const fleetAnswer = await allAnswer(names, env, t0, 120_000);
    const loadAfter = load();
    const upAt = names.map(
      (n) =>
        fleet.lines.find(
          ([, l]) => l.startsWith(`${n} `) && l.endsWith('| Docker is up and running!'),
        )?.[0] ?? NaN,
    );

    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const mem: { usage: number; anon: number }[] = [];
    for (const n of names) {
      const id = JSON.parse(await readFile(join(store, 'machines', n, 'config.json'), 'utf8')).Driver
        .ContainerID as string;
      mem.push(await memoryOf(engine, id));
    }
    const rmAll = must(await cli(['rm', '-y', ...names], env), 'rm fleet');
    for (const n of names) made.delete(n);

    // The same machines from as many create processes started together (the only way before
    // fleets).
    const procNames = names.map((n) => `p${n.slice(1)}`);
    const loadBeforeProcs = load();
    t0 = performance.now();
    const results = await Promise.all(procNames.map((n) => create(n)));
    const createsDone = performance.now() - t0;
    for (const [i, r] of results.entries()) must(r, `create ${procNames[i]}`);
    const procsAnswer = await allAnswer(procNames, env, t0, 120_000);
    const loadAfterProcs = load();
    must(await cli(['rm', '-y', ...procNames], env), 'rm processes');
    for (const n of procNames) made.delete(n);
    const left = (await engine.docker(['ps', '-aq'])).trim();

    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`date -u: ${new Date().toUTCString()}`);
    console.log(
      `machine: nproc ${cpus().length}, ${(await run('uname', ['-r'])).stdout.trim()}, node ${process.version}`,
    );
    console.log(
      `load average at start: ${loadStart}; before the fleet command: ${loadBefore}; after: ${loadAfter}; before the ${FLEET} processes: ${loadBeforeProcs}; after: ${loadAfterProcs}`,
    );
    console.log(`image: ${image}`);
    console.log(`| what | wall time s |`);
    console.log(`|---|---|`);
    console.log(`| first create on a new engine (image import, CA, network) | ${s(warm.ms)} |`);
    console.log(
      `| baseline: \`docker run -d\` + \`docker rm -f\` of the image (median of ${BASELINE_RUNS}) | ${s(median(baseline))} |`,
    );
    console.log(`| \`create -d docker\`, 1 machine (process exit) | ${s(one.ms)} |`);
    console.log(`| 1 machine, until \`ls\` shows it Running with a version | ${s(oneAnswer)} |`);
    console.log(
      `| \`create -d docker f1 ... f${FLEET}\` (one fleet command), until it exits | ${s(fleetDone)} |`,
    );
    console.log(
      `| ${FLEET} machines of the fleet command, until \`ls\` shows all Running with a version | ${s(fleetAnswer)} |`,
    );
    console.log(`| ${FLEET} concurrent create processes, until the last exits | ${s(createsDone)} |`);
    console.log(
      `| ${FLEET} machines of the processes, until \`ls\` shows all Running with a version | ${s(procsAnswer)} |`,
    );
    console.log(`| \`rm -y\` of the ${FLEET} | ${s(rmAll.ms)} |`);
    console.log(
      `fleet command: each machine's "Docker is up and running!" at s: ${upAt.map((t) => s(t)).join(', ')}`,
    );
    console.log('steps of the 1-machine create (`--debug`; each line and the s since the line before):');
    console.log('| line | s |');
    console.log('|---|---|');
    let prev = 0;
    for (const [t, l] of one.lines) {
      if (l.startsWith('ssh: ') || l === '') continue;
      console.log(`| ${l.slice(0, 90).replaceAll('|', '\\|')} | ${s(t - prev)} |`);
      prev = t;
    }
    console.log(
      `memory per idle machine after ${IDLE_S} s (cgroup): usage mean ${mib(avg(mem.map((m) => m.usage)))} MiB (min ${mib(Math.min(...mem.map((m) => m.usage)))}, max ${mib(Math.max(...mem.map((m) => m.usage)))}), of which anonymous (rss) mean ${mib(avg(mem.map((m) => m.anon)))} MiB`,
    );
    console.log(
      `target (${FLEET} machines under 30 s): fleet command ${fleetAnswer < 30_000 ? 'met' : 'not met'}; ${FLEET} processes ${procsAnswer < 30_000 ? 'met' : 'not met'}`,
    );
    console.log(`containers left on the engine after rm: ${left === '' ? 'none' : left}`);
  } finally {
    for (const n of made)
      await cli(['rm', '-y', '-f', n], cleanEnv({ MACHINE_STORAGE_PATH: store }), 120_000).catch(() => {});
    await removeMade();
    forget();
    await engine.stop();
    await rm(store, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
