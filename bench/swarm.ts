/**
 * A 3-node Swarm-mode cluster of docker-driver machines from one command: wall time from the
 * start of `create -d docker --swarm-master s1 s2 s3` until the manager lists three Ready nodes,
 * beside the time of `create -d docker p1 p2 p3` (the same three machines without swarm flags),
 * each run several times, alternately, with the machine image already on the engine.
 *
 *   npm run bench:swarm [-- --runs N]
 *
 * Needs root, dockerd and debootstrap, like the end-to-end tests: it starts its own engine (its
 * own bridge and network, no iptables), uses the image cache the tests share, and removes what
 * it made by id.
 */
import { cpus, loadavg } from 'node:os';
import { MachineAPI } from '../src/api/index.js';
import { swarmEngineOf } from '../src/api/swarm.js';
import { startEngineRig } from '../test/helpers/engine-rig.js';
import { testHostsAvailable } from '../test/helpers/testhost.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => (ms / 1000).toFixed(1);

async function main() {
  if (!testHostsAvailable()) throw new Error('needs root, dockerd, debootstrap and ip');
  const rig = await startEngineRig({ poolPrefix: '172.26', interconnect: true });
  try {
    const api = new MachineAPI({ storePath: rig.store.dir });
    const must = async (p: ReturnType<typeof rig.create>, what: string) => {
      const r = await p;
      if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    const remove = (names: string[]) =>
      must(rig.store.run(['rm', '-f', ...names], { timeoutMs: 300_000 }), 'rm');

    // The image is built (or taken from the shared cache) and imported once, outside the timings.
    await must(rig.create('warm'), 'warm-up create');
    await remove(['warm']);

    const swarm: number[] = [];
    const plain: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await must(rig.create(['s1', 's2', 's3'], ['--swarm-master']), 'swarm create');
      const created = performance.now() - t0;
      const manager = await swarmEngineOf(await api.load('s1'));
      // Bounded: create waits for each node to be Ready; this confirms it from the manager.
      for (let n = 0; ; n++) {
        const nodes = await manager.nodes();
        if (nodes.length === 3 && nodes.every((x) => x.Status.State === 'ready')) break;
        if (n > 600) throw new Error('the manager did not list three Ready nodes within 60 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      const allReady = performance.now() - t0;
      swarm.push(allReady);
      ready.push(allReady - created);
      await remove(['s1', 's2', 's3']);

      const t1 = performance.now();
      await must(rig.create(['p1', 'p2', 'p3']), 'plain create');
      plain.push(performance.now() - t1);
      await remove(['p1', 'p2', 'p3']);
      console.error(`run ${i + 1}: swarm ${s(allReady)} s (create ${s(created)} s), plain ${s(plain[i])} s`);
    }
    console.log(
      `\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0].model}, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')}\n`,
    );
    console.log('| 3 docker-driver machines, one command | median s | runs (s) |');
    console.log('|---|---|---|');
    console.log(
      `| \`create --swarm-master s1 s2 s3\` until 3 nodes Ready | ${s(median(swarm))} | ${swarm.map(s).join(', ')} |`,
    );
    console.log(
      `| \`create p1 p2 p3\` (no swarm flags) | ${s(median(plain))} | ${plain.map(s).join(', ')} |`,
    );
    console.log(
      `| after create returned, until the manager listed 3 Ready | ${s(median(ready))} | ${ready.map(s).join(', ')} |`,
    );
  } finally {
    await rig.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
