import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { type CliStore, cliShell, type RunResult, runProcess } from './cli.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
} from './testhost.js';

/**
 * The rig of the cloud host tests: a real Debian host (systemd, sshd, Docker) on an engine of the
 * test's own, standing in for the machine a cloud fake makes. The fake hands out `address`, calls
 * `authorizeRoot` or `addSudoUser` where cloud-init or a guest agent would put the machine's key,
 * and `power` where the instance stops and starts.
 *
 * Two ways to reach it, as the provider's driver allows:
 * - 'own-address': the host sits on a Docker network of the engine's own at `address`, so SSH (22)
 *   and the engine (2376) are reached on their usual ports, as on the cloud. Docker's own
 *   allocations stay in .128/25, away from the low addresses the fakes hand out.
 * - 'loopback': the host is reached through ports published on 127.0.0.1 (`host.sshPort` and
 *   `host.ports[0]` for the engine), for drivers with SSH and engine port flags.
 *
 * The host authorises a key of its own that the driver never sees: the create has to put its key
 * there through the fake's hook, as on the cloud.
 */
export interface CloudHost {
  /** A scratch folder of the test's (a HOME, DOCKER_CONFIG), removed by `stop`. */
  work: string;
  engine: HostEngine;
  host: TestHost;
  /** The address the fake hands out for the machine. */
  address: string;
  /** The network's CIDR (own-address only), for fakes that model the subnet (moto). */
  subnet?: string;
  /** cloud-init's part: the keys appended to root's authorized keys. */
  authorizeRoot(keys: string[]): Promise<void>;
  /** A guest agent's part: the user, with password-less sudo, and the keys in its authorized keys. */
  addSudoUser(user: string, keys: string[]): Promise<void>;
  /**
   * For fakes with no create hook (moto, the hyperv powershell): once the machine's public key
   * file appears, `give` it to the host (cloud-init's or the seed's part), until it succeeds.
   * Returns the function that stops watching.
   */
  whenKeyWritten(pubKeyPath: string, give: (key: string) => Promise<void>): () => void;
  /** The instance's power: the host stops (20 s grace) or starts with it. */
  power(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

export interface CloudHostOptions {
  /** Names the scratch folder and the network. */
  name: string;
  at: 'own-address' | 'loopback';
  /** own-address: the host's last octet on its /24 (the one the provider gives first). */
  lastOctet?: number;
}

/** A /24 prefix (`10.x.y`) in 10.150-249.y.0 that no route of this computer covers yet. */
export function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${150 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 256)}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.150-249.y.0/24 for the test network');
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function startCloudHost(opts: CloudHostOptions): Promise<CloudHost> {
  const work = await mkdtemp(join(tmpdir(), `dm-${opts.name}-`));
  let engine: HostEngine | undefined;
  let host: TestHost | undefined;
  const stop = async () => {
    await host?.stop();
    await engine?.stop();
    await rm(work, { recursive: true, force: true });
  };
  try {
    const tarball = await hostRootfs({ withDocker: true }, (l) => process.stderr.write(`${l}\n`));
    engine = await startHostEngine();
    const image = await importHostImage(engine, tarball, 'dm-testhost:docker');
    const { publicLine } = await generateSSHKeyPair(join(work, 'unused_key'));
    let address = '127.0.0.1';
    let subnet: string | undefined;
    if (opts.at === 'own-address') {
      const prefix = freeSubnet();
      subnet = `${prefix}.0/24`;
      address = `${prefix}.${opts.lastOctet ?? 4}`;
      await engine.docker([
        'network',
        'create',
        '--subnet',
        subnet,
        '--gateway',
        `${prefix}.1`,
        '--ip-range',
        `${prefix}.128/25`,
        opts.name,
      ]);
      host = await startTestHost(engine, image, {
        authorizedKey: publicLine,
        network: { name: opts.name, ip: address },
      });
    } else {
      host = await startTestHost(engine, image, { authorizedKey: publicLine, extraPorts: 1 });
    }
    const h = host;
    const e = engine;
    return {
      work,
      engine: e,
      host: h,
      address,
      subnet,
      async authorizeRoot(keys) {
        await h.exec(
          `mkdir -p /root/.ssh && printf '%s\\n' ${keys.map(quote).join(' ')} >> /root/.ssh/authorized_keys2`,
        );
      },
      async addSudoUser(user, keys) {
        if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new Error(`not a user name: ${user}`);
        const home = `/home/${user}`;
        await h.exec(
          // A group of the user's name may be there already (docker, made by docker.io).
          `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash $(getent group ${user} >/dev/null && echo -g ${user}) ${user}; ` +
            `echo '${user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/cloud-${user}; ` +
            `install -d -m 700 -o ${user} -g ${user} ${home}/.ssh; ` +
            `printf '%s\\n' ${keys.map(quote).join(' ')} >> ${home}/.ssh/authorized_keys; ` +
            `chown ${user}:${user} ${home}/.ssh/authorized_keys; chmod 600 ${home}/.ssh/authorized_keys`,
        );
      },
      whenKeyWritten(pubKeyPath, give) {
        let given = false;
        const watch = setInterval(() => {
          if (given || !existsSync(pubKeyPath)) return;
          given = true;
          readFile(pubKeyPath, 'utf8')
            .then((k) => give(k.trim()))
            .catch((err) => {
              process.stderr.write(`authorizing the key: ${err}\n`);
              given = false;
            });
        }, 100);
        return () => clearInterval(watch);
      },
      async power(on) {
        await e.docker(on ? ['start', h.id] : ['stop', '-t', '20', h.id]);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The CLI as a cloud host test calls it: `run` a command with the provider's environment, and
 * `withEnv` a shell script after `eval "$(docker-machine env MACHINE)"`. The store and the
 * environment are read at each call, as a suite makes them in its `before`.
 */
export function cloudCli(
  store: () => CliStore,
  env: () => NodeJS.ProcessEnv,
  machine: string,
): {
  run(args: string[], timeoutMs?: number): Promise<RunResult>;
  withEnv(script: string): Promise<RunResult>;
} {
  return {
    run: (args, timeoutMs = 300_000) => store().run(args, { env: env(), timeoutMs }),
    withEnv: (script) =>
      runProcess('bash', ['-c', `eval "$(${cliShell} env ${machine})" && ${script}`], {
        env: { MACHINE_STORAGE_PATH: store().dir, ...env() },
        timeoutMs: 120_000,
      }),
  };
}
