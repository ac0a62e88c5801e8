import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { onProcessEnd, sweepOrphanForwardRules } from './cleanup.js';
import { binPath, type CliStore, type RunResult, runProcess, tempStore } from './cli.js';
import { cacheDir, type HostEngine, startHostEngine } from './testhost.js';

/**
 * A dockerd of the test's own for docker-driver machines (its own bridge and address pool, no
 * iptables; never the machine's default engine), and a store whose image cache is the shared
 * test cache, so the driver's debootstrap image is built once across runs and suites.
 */
export interface EngineRig {
  engine: HostEngine;
  /** unix://SOCKET of the test's engine, for --docker-host. */
  dockerHost: string;
  store: CliStore;
  /** `docker -H <the test's engine> ARGS`, trimmed. */
  outer(args: string[]): Promise<string>;
  /** `create -d docker` on the test's engine. */
  create(names: string | string[], extra?: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** A bash script run with the machine's `env` evaluated (docker then talks to that machine). */
  withEnv(
    name: string,
    script: string,
    opts?: { envFlags?: string[]; timeoutMs?: number },
  ): Promise<RunResult>;
  stop(): Promise<void>;
}

export type EngineRigOptions = EngineRigPool & {
  /**
   * Make the machines' network (the driver's default, docker-machine) before any create, on a
   * bridge of a name we choose, and let machines on it reach each other: where Docker ran
   * before, bridged packets meet a FORWARD policy of DROP (../shared/TESTING.md). The rule is
   * removed at the end; egress stays as it was.
   */
  interconnect?: boolean;
};

type EngineRigPool =
  /** First two octets of the engine's address pool, one per suite so suites never overlap: '172.27'. */
  | { poolPrefix: string; addressPool?: never }
  /** The engine's whole --default-address-pool (base=CIDR,size=N), for a test of the pool itself. */
  | { addressPool: string; poolPrefix?: never };

export async function startEngineRig(opts: EngineRigOptions): Promise<EngineRig> {
  const pool = opts.addressPool ?? `base=${opts.poolPrefix}.${Math.floor(Math.random() * 256)}.0/24,size=26`;
  // The engine removes its containers and networks before it stops (helpers/dockerd.ts).
  const engine = await startHostEngine({ dockerdArgs: ['--default-address-pool', pool] });
  const dockerHost = `unix://${engine.dockerd.socket}`;
  const store = await tempStore();
  const shared = join(cacheDir(), 'docker-driver');
  await mkdir(shared, { recursive: true });
  await mkdir(join(store.dir, 'cache'), { recursive: true });
  await symlink(shared, join(store.dir, 'cache', 'docker-driver'));

  const outer = async (args: string[]) => (await engine.docker(args)).trim();

  let dropRule: (() => void) | undefined;
  if (opts.interconnect) {
    const bridge = `dmsw${randomBytes(3).toString('hex')}`;
    // With a configured subnet (the one the engine picks from its pool), as the driver makes it,
    // so that the machines get fixed addresses on it.
    const probe = await outer(['network', 'create', 'docker-machine']);
    const subnet = await outer(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', probe]);
    await outer(['network', 'rm', probe]);
    await outer([
      'network',
      'create',
      '--driver',
      'bridge',
      '--subnet',
      subnet,
      '-o',
      `com.docker.network.bridge.name=${bridge}`,
      'docker-machine',
    ]);
    sweepOrphanForwardRules();
    const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
    execFileSync('iptables', ['-I', ...rule]);
    const forgetRule = onProcessEnd(() => execFileSync('iptables', ['-D', ...rule], { stdio: 'ignore' }));
    dropRule = () => {
      forgetRule();
      execFileSync('iptables', ['-D', ...rule], { stdio: 'ignore' });
    };
  }

  return {
    engine,
    dockerHost,
    store,
    outer,
    create: (names, extra = [], o = {}) =>
      store.run(['create', '-d', 'docker', '--docker-host', dockerHost, ...extra, ...[names].flat()], {
        timeoutMs: o.timeoutMs ?? 900_000,
      }),
    withEnv: (name, script, o = {}) =>
      runProcess(
        'bash',
        [
          '-c',
          `eval "$("${process.execPath}" "${binPath}" env ${(o.envFlags ?? []).join(' ')} ${name})" && ${script}`,
        ],
        {
          env: { MACHINE_STORAGE_PATH: store.dir, DOCKER_CONFIG: join(store.dir, 'docker-config') },
          timeoutMs: o.timeoutMs ?? 120_000,
        },
      ),
    async stop() {
      dropRule?.();
      await engine.stop();
      await store.cleanup();
    },
  };
}
