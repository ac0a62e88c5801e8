/**
 * Provisioning a host that already runs Docker: wall time of `create -d generic` adopting the
 * host's engine, split into its steps by the moment each progress line arrives, and the times of
 * `regenerate-certs -f` and `provision`, against baselines measured in the same run on the same
 * host (one `ssh ... true` round trip, and `systemctl restart docker` over ssh). For each, the SSH
 * commands it sent (round trips) and, with perf, the CPU time of the CLI and its ssh processes.
 * Target (DESIGN.md §8): create under 2 s.
 *
 *   npm run bench:provision [-- --runs N]
 *
 * Needs root, dockerd and debootstrap, like the end-to-end tests: it starts its own host engine
 * and a Debian test host (systemd, sshd, docker.io) reached on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv } from '../test/helpers/cli.js';
import { genericCreateArgs, startHostRig } from '../test/helpers/generic-rig.js';
import { testHostsAvailable } from '../test/helpers/testhost.js';

const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'docker-machine.cjs');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const PERF = existsSync('/usr/bin/perf');

/** The lines that open each step of create, in order, and the step's name in the table. */
const CREATE_STEPS: [string, RegExp][] = [
  ['start-up, certificates (the CA on the first run)', /^Running pre-create checks\.\.\.$/],
  ['pre-create check', /^Running pre-create checks\.\.\.$/],
  ['create (import the SSH key, save)', /^Creating machine\.\.\.$/],
  ['wait for the machine to be running (its SSH port)', /^Waiting for machine to be running/],
  ['wait for SSH (the first command)', /^Waiting for SSH to be available\.\.\.$/],
  ['detect the OS', /^Detecting the provisioner\.\.\.$/],
  ['hostname, is an engine there?', /^Provisioning with /],
  ['certs: the server certificate (RSA key)', /^Copying certs to the local machine directory\.\.\.$/],
  ['certs: copy to the machine', /^Copying certs to the remote machine\.\.\.$/],
  // Since the batches, the certificates go with the daemon configuration and the restart.
  [
    'daemon config (drop-in, enable; since 2026-12-06 the certs and the restart too)',
    /^Setting Docker configuration on the remote daemon\.\.\.$/,
  ],
  // A command of its own before the batches; a line of a batch since (no match).
  [
    'engine restart',
    /^(sudo )?systemctl (daemon-reload && )?(sudo )?systemctl stop docker && (sudo )?systemctl start docker$/,
  ],
  ['wait for the engine over TLS', /^waiting for the engine at /],
  ['connection check', /^Checking connection to Docker\.\.\.$/],
  ['(rest, to exit)', /^Docker is up and running!$/],
];

interface Timed {
  ms: number;
  /** CPU time of the process and its children (perf's task-clock); NaN without perf. */
  cpuMs: number;
  code: number;
  /** Each line with its arrival time since the start, ms. */
  lines: [number, string][];
}

/** Run the CLI, timestamping every line as it arrives on stdout or stderr. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const perfOut = join(tmpdir(), `dm-bench-perf-${process.pid}`);
  const argv = [process.execPath, bundle, ...args];
  const cmd = PERF ? ['perf', 'stat', '-x,', '-e', 'task-clock', '-o', perfOut, '--', ...argv] : argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: [number, string][] = [];
    const split = () => {
      let rest = '';
      return (d: Buffer) => {
        const now = performance.now() - t0;
        rest += d;
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) lines.push([now, p]);
      };
    };
    child.stdout.on('data', split());
    child.stderr.on('data', split());
    const bound = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(bound);
      const ms = performance.now() - t0;
      const cpuMs = PERF
        ? Number(/^([\d.]+),msec,task-clock/m.exec(readFileSync(perfOut, 'utf8'))?.[1])
        : Number.NaN;
      resolve({ ms, cpuMs, code: code ?? -1, lines });
    });
  });
}

async function mustTime(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const r = await timed(args, env);
  if (r.code !== 0) {
    throw new Error(`${args.join(' ')} exited ${r.code}:\n${r.lines.map((l) => l[1]).join('\n')}`);
  }
  return r;
}

/** Durations of create's steps: from the line that opens a step to the line that opens the next. */
function steps(r: Timed): number[] {
  // Step 0 runs from the process start to the first line; the others from their line to the next.
  const at = [0, ...CREATE_STEPS.slice(1).map(([, re]) => r.lines.find(([, l]) => re.test(l))?.[0])];
  return at.map((start, i) => {
    if (start === undefined) return Number.NaN;
    const next = at.slice(i + 1).find((t) => t !== undefined) ?? r.ms;
    return next - start;
  });
}

/** Commands sent over SSH, each a round trip (the --debug log names each one). */
const sshCommands = (r: Timed) =>
  r.lines.filter(([, l]) => l.startsWith('About to run SSH command on ')).length;

function median(xs: number[]): number {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  if (!testHostsAvailable()) throw new Error('needs root, dockerd, debootstrap and ip');
  const rig = await startHostRig({ prefix: 'bench-prov', withDocker: true });
  const { key } = rig;
  const host = rig.hosts[0];
  const env = cleanEnv({ MACHINE_STORAGE_PATH: join(rig.work, 'store') });
  try {
    const sshArgs = [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-i',
      key,
      '-p',
      String(host.sshPort),
      'root@127.0.0.1',
    ];
    const ssh = (cmd: string) =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const c = spawn('ssh', [...sshArgs, cmd], { stdio: 'ignore' });
        c.on('error', reject);
        c.on('close', (code) =>
          code === 0 ? resolve(performance.now() - t0) : reject(new Error(`ssh ${cmd} exited ${code}`)),
        );
      });
    await ssh('true'); // warm: the first connection pays for the host's first sshd fork

    // A label of its own per run: each create writes a new drop-in and reloads systemd, as the
    // first adoption of a host does; provision and regenerate-certs then find it in place.
    const createArgs = (name: string, run: number) => [
      '--debug',
      ...genericCreateArgs(host, key, name, ['--engine-label', `bench-run=${run}`]),
    ];
    const samples = {
      sshTrue: [] as number[],
      sshRestart: [] as number[],
      create: [] as number[],
      regenerate: [] as number[],
      provision: [] as number[],
    };
    /** Per CLI operation: SSH commands sent, and CPU ms. */
    const cost = { create: [] as Timed[], regenerate: [] as Timed[], provision: [] as Timed[] };
    const stepSamples: number[][] = [];
    let firstCreate = 0;
    for (let i = 0; i < RUNS; i++) {
      samples.sshTrue.push(await ssh('true'));
      samples.sshRestart.push(await ssh('systemctl restart docker'));
      // The first create also makes the store's CA; every create adopts an engine that runs.
      // One name for every run: the host keeps its hostname and /etc/hosts line between runs.
      const c = await mustTime(createArgs('bench', i), env);
      if (i === 0) firstCreate = c.ms;
      samples.create.push(c.ms);
      stepSamples.push(steps(c));
      const g = await mustTime(['--debug', 'regenerate-certs', '-f', 'bench'], env);
      samples.regenerate.push(g.ms);
      const p = await mustTime(['--debug', 'provision', 'bench'], env);
      samples.provision.push(p.ms);
      cost.create.push(c);
      cost.regenerate.push(g);
      cost.provision.push(p);
      await mustTime(['rm', '-y', 'bench'], env);
      process.stderr.write(`run ${i + 1}/${RUNS}: create ${(c.ms / 1000).toFixed(2)} s\n`);
    }

    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof samples,
      number
    >;
    const s = (ms: number) => (ms / 1000).toFixed(2);
    console.log(
      `# provision, ${RUNS} runs each (median), ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, node ${process.version}`,
    );
    console.log('\n| operation | median s | ratio to `ssh true` | ratio to `ssh systemctl restart docker` |');
    console.log('|---|---|---|---|');
    const row = (name: string, ms: number) =>
      console.log(
        `| ${name} | ${s(ms)} | ${(ms / m.sshTrue).toFixed(1)} | ${(ms / m.sshRestart).toFixed(2)} |`,
      );
    row('`ssh -i key host true` (baseline)', m.sshTrue);
    row('`ssh host systemctl restart docker` (baseline)', m.sshRestart);
    row('`create -d generic` (adopt the running engine)', m.create);
    row('`regenerate-certs -f`', m.regenerate);
    row('`provision`', m.provision);
    console.log(`\nfirst create (makes the CA too): ${s(firstCreate)} s; target for create: under 2 s`);
    console.log(
      '\n| operation | SSH commands (round trips) | CPU s, the CLI and its ssh processes (median) |',
    );
    console.log('|---|---|---|');
    for (const [name, rs] of [
      ['`create -d generic`', cost.create],
      ['`regenerate-certs -f`', cost.regenerate],
      ['`provision`', cost.provision],
    ] as const) {
      const cpu = median(rs.map((r) => r.cpuMs));
      console.log(
        `| ${name} | ${median(rs.map(sshCommands))} | ${Number.isNaN(cpu) ? '- (no perf)' : s(cpu)} |`,
      );
    }
    console.log('\n| step of create | median s |');
    console.log('|---|---|');
    CREATE_STEPS.forEach(([name], i) => {
      const v = median(stepSamples.map((x) => x[i]));
      console.log(`| ${name} | ${Number.isNaN(v) ? '-' : s(v)} |`);
    });
  } finally {
    await rig.stop();
  }
}

await main();
