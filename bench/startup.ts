/**
 * Start-up cost of the light commands against a store of 100 machines, as ratios to a bare
 * `node -e 0` measured in the same run, for the Node build and the single-file executable side by
 * side, and `ls` time over 10/50/100 machines with reachable engines (it must not grow linearly:
 * queries run in parallel over reused connections).
 *
 *   npm run build && npm run build:standalone -- --target linux-x64 &&
 *   node --import tsx bench/startup.ts [--runs N] [--exe PATH] [--engine node|dockerd] [--cpu] [--distinct]
 *
 * The executable is --exe, else dist/standalone/docker-machine-OS-ARCH of this computer, measured
 * as a fresh copy named docker-machine; without one only the Node build is measured.
 *
 * The engines env and config check are, by default, 10 Node HTTPS servers in one process of the
 * bench's; `--engine dockerd` points every machine at one real dockerd instead (Debian's, API
 * only, TLS on loopback; needs root), whose replies cost what the original's users see.
 * `--cpu` times each run by the CPU it used (perf stat's task-clock, all threads) instead of
 * by the clock: on a loaded machine the clock counts the waits for a core, and the engine's.
 * `--distinct` gives each machine an engine URL of its own (100 Node servers, or 100 ports of the
 * one dockerd): without it machines share URLs, and ls asks each URL once.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServerCert } from '../src/cert/server.js';
import { dockerdAvailable, startDockerd } from '../test/helpers/dockerd.js';

const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'docker-machine.cjs');
const bin = join(root, 'bin', 'docker-machine');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
const exeArg = process.argv.indexOf('--exe');
const standaloneDir = join(root, 'dist', 'standalone');
const builtExe =
  exeArg > 0
    ? process.argv[exeArg + 1]
    : join(standaloneDir, `docker-machine-${process.platform}-${process.arch === 'arm64' ? 'arm64' : 'x64'}`);
const haveExe = existsSync(builtExe);
// The copy that is measured (see main()).
let exe = builtExe;
const engineArg = process.argv.indexOf('--engine');
const ENGINE = engineArg > 0 ? process.argv[engineArg + 1] : 'node';
if (ENGINE !== 'node' && ENGINE !== 'dockerd') throw new Error(`--engine ${ENGINE}: use node or dockerd`);
const CPU = process.argv.includes('--cpu');
// Each machine at an engine URL of its own (100 ports), as a fleet of separate hosts is: ls then
// asks 100 engines, where by default 100 machines share 10 URLs (or dockerd's one), which ls
// asks once each.
const DISTINCT = process.argv.includes('--distinct');
const ENGINE_PORTS = DISTINCT ? 100 : 10;

/**
 * The harness's own cost: starting a program that does nothing (`true`) the way every case is
 * started, from this Node process with its pipes. It is in every figure and in neither program's
 * start-up, and it weighs more in a small figure than in a large one; the net ratio subtracts it
 * from both sides, as hyperfine subtracts its shell's start.
 */
const EMPTY = '/bin/true';

/** One run: a command line starting with `exe` runs the executable, EMPTY itself, any other runs under node. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): number {
  const [cmd, rest] =
    args[0] === exe || args[0] === EMPTY ? [args[0], args.slice(1)] : [process.execPath, args];
  if (CPU) {
    const r = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', cmd, ...rest], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const line = String(r.stderr)
      .split('\n')
      .find((l) => l.includes(',task-clock'));
    if (r.status !== 0 || line === undefined) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    return Number(line.split(',')[0]);
  }
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, rest, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Interleave the runs of every case so that machine noise hits them all alike. */
function measure(
  cases: Record<string, string[]>,
  env: NodeJS.ProcessEnv,
  runs: number,
): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const args of Object.values(cases)) timeOnce(args, env); // warm the file cache
  for (let i = 0; i < runs; i++) {
    for (const [k, args] of Object.entries(cases)) samples[k].push(timeOnce(args, env));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** A TLS engine that answers /version, in its own process so it does not share our event loop. */
async function startFakeEngine(dir: string, ports: number): Promise<{ urls: string[]; stop: () => void }> {
  const script = join(dir, 'engine.mjs');
  await writeFile(
    script,
    `import https from 'node:https'; import fs from 'node:fs';
const [ca, cert, key] = ['ca.pem', 'server.pem', 'server-key.pem'].map((f) => fs.readFileSync(process.argv[2] + '/' + f));
const body = JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' });
const out = [];
let left = Number(process.argv[3]);
for (let i = 0; i < Number(process.argv[3]); i++) {
  const s = https.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true }, (q, r) => { r.setHeader('content-type', 'application/json'); r.end(body); });
  s.listen(0, '127.0.0.1', () => { out.push(s.address().port); if (--left === 0) console.log(out.join(' ')); });
}`,
  );
  const child = spawn(process.execPath, [script, dir, String(ports)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (c) => reject(new Error(`fake engine exited ${c}`)));
  });
  return { urls: line.split(' ').map((p) => `tcp://127.0.0.1:${p}`), stop: () => child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dm-bench-'));
  const store = join(dir, 'store');
  // create writes a docker context per machine: into a folder of the bench's own, not ~/.docker.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MACHINE_STORAGE_PATH: store,
    DOCKER_CONFIG: join(dir, 'docker-config'),
    SHELL: '/bin/bash',
  };
  delete env.DOCKER_HOST;
  // This sandbox sets NODE_EXTRA_CA_CERTS, which makes every node process read a CA bundle at
  // start (about 80 ms here, more than node -e 0 itself): a constant that says nothing about us.
  delete env.NODE_EXTRA_CA_CERTS;
  // The executable is measured as a fresh copy, as a download or an install leaves it. The file the
  // build wrote can start 1.5-3 ms slower with the very same bytes, once the kernel has taken back
  // some of its cold pages (this VM runs DAMON's pageout): more, smaller page-cache folios to map.
  if (haveExe) {
    exe = join(dir, 'bin', 'docker-machine');
    await mkdir(join(dir, 'bin'));
    await copyFile(builtExe, exe);
    await chmod(exe, 0o755);
  }
  const cli = (args: string[]) => execFileSync(process.execPath, [bundle, ...args], { env, stdio: 'pipe' });
  let engine: { urls: string[]; stop: () => void | Promise<void> } | undefined;
  try {
    cli(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'seed']);
    await generateServerCert({
      caCertPath: join(store, 'certs', 'ca.pem'),
      caKeyPath: join(store, 'certs', 'ca-key.pem'),
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      org: 'bench',
      hosts: ['127.0.0.1'],
    });
    execFileSync('cp', [join(store, 'certs', 'ca.pem'), join(dir, 'ca.pem')]);
    if (ENGINE === 'dockerd') {
      if (!dockerdAvailable()) throw new Error('--engine dockerd needs root and dockerd');
      const { freePort } = await import('../test/helpers/ports.js');
      const more: number[] = [];
      for (let i = 1; i < ENGINE_PORTS && DISTINCT; i++) more.push(await freePort());
      const d = await startDockerd({
        extraArgs: more.flatMap((p) => ['--host', `tcp://127.0.0.1:${p}`]),
        caCertPath: join(dir, 'ca.pem'),
        serverCertPath: join(dir, 'server.pem'),
        serverKeyPath: join(dir, 'server-key.pem'),
        apiOnly: true,
      });
      const urls = DISTINCT ? [d.url, ...more.map((p) => `tcp://127.0.0.1:${p}`)] : Array(10).fill(d.url);
      engine = { urls, stop: () => d.stop() };
    } else {
      engine = await startFakeEngine(dir, ENGINE_PORTS);
    }
    const urls = engine.urls;
    cli(['rm', '-y', 'seed']);
    // 100 machines over 10 engine ports (or 100 with --distinct).
    const creates = [];
    for (let i = 0; i < 100; i++) {
      creates.push(
        new Promise<void>((resolve, reject) => {
          const c = spawn(
            process.execPath,
            [bundle, 'create', '-d', 'none', '--url', urls[i % urls.length], `m${i}`],
            {
              env,
              stdio: 'ignore',
            },
          );
          c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`create m${i} exited ${code}`))));
        }),
      );
      if (creates.length % 10 === 0) await Promise.all(creates.splice(0));
    }
    await Promise.all(creates);

    const commands: Record<string, string[]> = {
      'ls -q': ['ls', '-q'],
      'env m42': ['env', 'm42'],
      'ip m42': ['ip', 'm42'],
      'url m42': ['url', 'm42'],
      'config m42': ['config', 'm42'],
      active: ['active'],
      'inspect m42': ['inspect', 'm42'],
      '--version': ['--version'],
    };
    const light: Record<string, string[]> = { 'node -e 0': ['-e', '0'], empty: [EMPTY] };
    for (const [k, args] of Object.entries(commands)) {
      light[k] = [bundle, ...args];
      if (haveExe) light[`exe ${k}`] = [exe, ...args];
    }
    light['bin/docker-machine url m42'] = [bin, 'url', 'm42'];
    const lightEnv = { ...env, DOCKER_HOST: urls[2] };
    const t = measure(light, lightEnv, RUNS);
    const base = t['node -e 0'];
    const empty = t.empty;
    const ratioOf = (v: number) => v / base;
    const netOf = (v: number) => (v - empty) / (base - empty);
    const ratio = (v: number) => ratioOf(v).toFixed(2);
    const net = (v: number) => netOf(v).toFixed(2);
    console.log(
      `# startup, ${RUNS} runs each (median ${CPU ? 'CPU time' : 'wall time'}), engine: ${ENGINE}${DISTINCT ? ', a URL per machine' : ''}, ${cpus().length} cores, ${cpus()[0]?.model ?? ''}`,
    );
    console.log(
      `node -e 0: ${base.toFixed(1)} ms${haveExe ? `; executable ${builtExe} (measured as a fresh copy)` : '; no executable'}`,
    );
    console.log(
      `${EMPTY} (the harness's own cost): ${empty.toFixed(1)} ms; "net" subtracts it from both sides`,
    );
    console.log(
      '| command | Node build ms | ratio | net | executable ms | ratio | net | executable ≤ 0.5 (ratio, net) |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    const verdict = (r: number) => (r <= 0.5 ? 'yes' : 'no');
    for (const k of Object.keys(commands)) {
      const e = t[`exe ${k}`];
      const cols =
        e === undefined
          ? ['', '', '', '']
          : [e.toFixed(1), ratio(e), net(e), `${verdict(ratioOf(e))}, ${verdict(netOf(e))}`];
      console.log(`| ${k} | ${t[k].toFixed(1)} | ${ratio(t[k])} | ${net(t[k])} | ${cols.join(' | ')} |`);
    }
    const viaBin = t['bin/docker-machine url m42'];
    console.log(
      `| bin/docker-machine url m42 | ${viaBin.toFixed(1)} | ${ratio(viaBin)} | ${net(viaBin)} | | | | |`,
    );
    if (existsSync(standaloneDir)) {
      console.log('\n| executable | bytes | MB |\n|---|---|---|');
      for (const f of readdirSync(standaloneDir)
        .filter((f) => f.startsWith('docker-machine-'))
        .sort()) {
        const size = statSync(join(standaloneDir, f)).size;
        console.log(`| ${f} | ${size} | ${(size / 1e6).toFixed(1)} |`);
      }
    }

    // ls over 10, 50, 100 machines: filter by name so one store serves all three sizes.
    const sizes: Record<string, string[]> = {
      'node -e 0': ['-e', '0'],
      'ls 10 machines': [bundle, 'ls', '--filter', 'name=^m[0-9]$'],
      'ls 50 machines': [bundle, 'ls', '--filter', 'name=^m([0-9]|[0-4][0-9])$'],
      'ls 100 machines': [bundle, 'ls'],
    };
    if (haveExe) {
      sizes['exe ls 10 machines'] = [exe, 'ls', '--filter', 'name=^m[0-9]$'];
      sizes['exe ls 100 machines'] = [exe, 'ls'];
    }
    const ls = measure(sizes, env, Math.max(5, Math.floor(RUNS / 3)));
    console.log('\n| ls, engines reachable | median ms | ratio to node -e 0 |');
    console.log('|---|---|---|');
    for (const [k, v] of Object.entries(ls))
      console.log(`| ${k} | ${v.toFixed(1)} | ${(v / ls['node -e 0']).toFixed(2)} |`);
    const per = (ls['ls 100 machines'] - ls['ls 10 machines']) / 90;
    console.log(
      `\nls: ${per.toFixed(2)} ms per extra machine; 100 machines take ${(ls['ls 100 machines'] / ls['ls 10 machines']).toFixed(2)}x the time of 10`,
    );
  } finally {
    await engine?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
