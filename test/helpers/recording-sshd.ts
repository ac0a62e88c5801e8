import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, TLSSocket } from 'node:tls';
import { BATCH_PREAMBLE } from '../../src/provision/batch.js';
import { onProcessEnd } from './cleanup.js';
import { repoRoot } from './cli.js';
import { freePort } from './ports.js';
import { type Sshd, startSshd } from './sshd.js';

/**
 * A host of any distribution, faked the way the spec's capture harness did (Appendix A): a real
 * OpenSSH sshd whose ForceCommand logs every command and answers it as that distribution would,
 * without running anything. Files the provisioner sends on stdin (certificates, the drop-in,
 * the boot2docker profile) land under root/; installing the engine package makes `dockerd`
 * "exist"; restarting docker makes a TLS engine answer on the engine port, with the
 * certificates the provisioner uploaded, so create runs to its end.
 */
export interface EngineState {
  /** What `dockerd --version` reports. */
  version: string;
  path: string;
  /** What the package manager prints when asked which package owns `path`. */
  owner: string;
}

export interface FakeDistro {
  osRelease: string;
  /** An engine the host has from the start. */
  engine?: EngineState;
  /** What installing the engine package gives. */
  installs?: EngineState;
  /** What upgrading the engine package gives. */
  upgrades?: EngineState;
  /** docker.service is socket-activated (docker.socket exists). */
  socket?: boolean;
  /** Output of the package manager's version listing (apt-cache madison, dnf list, ...). */
  available?: string;
  /** Output of the package manager's source listing (apt-cache policy, dnf repolist, ...). */
  sources?: string;
  /** Where the engine reads its TLS files (/etc/docker; boot2docker: /var/lib/boot2docker). */
  certDir?: string;
}

/** One round trip: a command, or the steps of a batch. */
export type Sent = string | string[];

/** A batch's steps as written one per line after its preamble: `dm N must|probe LENGTH 'CMD'`. */
export function batchSteps(sent: string): Sent {
  if (!sent.startsWith(BATCH_PREAMBLE)) return sent;
  return sent
    .slice(BATCH_PREAMBLE.length)
    .split('\n')
    .map((line) => {
      const m = /^dm \d+ (?:must|probe) \d+ '(.*)'$/.exec(line);
      if (!m) throw new Error(`not a batch step: ${line}`);
      return m[1].replaceAll("'\\''", "'");
    });
}

export interface RecordingHost {
  sshd: Sshd;
  dir: string;
  enginePort: number;
  /** The commands the host received, in order: a batch (one round trip) as the list of its steps. */
  commands(): Promise<Sent[]>;
  clearLog(): Promise<void>;
  /** A file as the provisioner wrote it on the host. */
  file(path: string): Promise<string>;
  /** From now on, this exact command (alone or as a step of a batch) fails with `stderr`. */
  failOn(command: string, stderr: string): Promise<void>;
  stop(): Promise<void>;
}

/** The ForceCommand: logs each command and answers it, running nothing. */
const REMOTE_SH = join(repoRoot, 'test', 'fixtures', 'fake-host', 'remote.sh');

async function writeEngineState(dir: string, e: EngineState): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), e.version);
  await writeFile(join(dir, 'path'), `${e.path}\n`);
  await writeFile(join(dir, 'owner'), `${e.owner}\n`);
}

export async function startRecordingHost(distro: FakeDistro): Promise<RecordingHost> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'dm-fakehost-'));
  const remote = join(dir, 'remote.sh');
  await copyFile(REMOTE_SH, remote);
  await chmod(remote, 0o755);
  await writeFile(join(dir, 'os-release'), distro.osRelease);
  await mkdir(join(dir, 'state'));
  if (distro.engine) await writeEngineState(join(dir, 'state'), distro.engine);
  if (distro.installs) await writeEngineState(join(dir, 'installs'), distro.installs);
  if (distro.upgrades) await writeEngineState(join(dir, 'upgrades'), distro.upgrades);
  if (distro.socket) await writeFile(join(dir, 'socket'), '');
  if (distro.available !== undefined) await writeFile(join(dir, 'available'), distro.available);
  if (distro.sources !== undefined) await writeFile(join(dir, 'sources'), distro.sources);
  await writeFile(join(dir, 'cmds.log'), '');
  const sshd = await startSshd({ dir, forceCommand: remote });
  const enginePort = await freePort();
  const engine = await startFakeEngine(dir, enginePort, distro.certDir ?? '/etc/docker');
  const forget = onProcessEnd(() => engine.close());
  return {
    sshd,
    dir,
    enginePort,
    async commands() {
      const log = await readFile(join(dir, 'cmds.log'), 'utf8');
      return log.split('\0').slice(0, -1).map(batchSteps);
    },
    clearLog: () => writeFile(join(dir, 'cmds.log'), ''),
    file: (path) => readFile(join(dir, 'root', path), 'utf8'),
    async failOn(command, stderr) {
      await writeFile(join(dir, 'fail-stderr'), stderr);
      await writeFile(join(dir, 'fail-command'), command);
    },
    async stop() {
      forget();
      engine.close();
      await sshd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The engine the fake host "runs" once docker was restarted: TLS with the server certificate
 * and CA the provisioner uploaded, client certificates required, /version answered with the
 * version the host's dockerd reports.
 */
async function startFakeEngine(dir: string, port: number, certDir: string): Promise<Server> {
  const http = createHttpServer((req, res) => {
    readFile(join(dir, 'state', 'version'), 'utf8')
      .catch(() => 'unknown')
      .then((version) => {
        res.setHeader('content-type', 'application/json');
        if (req.url?.endsWith('/_ping')) res.end('OK');
        else if (req.url?.endsWith('/version'))
          res.end(JSON.stringify({ Version: version, ApiVersion: '1.43', Os: 'linux', Arch: 'amd64' }));
        else res.end('{}');
      });
  });
  const server = createServer((raw: Socket) => {
    const root = join(dir, 'root', certDir);
    Promise.all([
      readFile(join(dir, 'running')),
      readFile(join(root, 'ca.pem')),
      readFile(join(root, 'server.pem')),
      readFile(join(root, 'server-key.pem')),
    ]).then(
      ([, ca, cert, key]) => {
        const tls = new TLSSocket(raw, {
          isServer: true,
          secureContext: createSecureContext({ ca, cert, key }),
          requestCert: true,
          rejectUnauthorized: true,
        });
        tls.on('error', () => tls.destroy());
        http.emit('connection', tls);
      },
      () => raw.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}
