import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  makePartialDir,
  partialFile,
  partialOwner,
  removeLeftoversOf,
  removePartial,
} from '../../cache/partial.js';
import { errorMessage, MachineError } from '../../errors.js';
import { withFileLock } from '../../store/lock.js';
import { pauseAt } from '../../test-pause.js';
import { HOSTKEYS_UNIT } from '../guest-units.js';
import { type DockerAPI, EngineAPIError, query, streamError } from './engine-api.js';

/**
 * The machine image: Debian with systemd, sshd and Debian's docker.io (machines may reach no
 * registry, so the engine comes with the image). The driver builds it from a Debian mirror with
 * debootstrap and imports it into the engine (what `docker import` does), cached by the recipe's
 * hash: on the engine as the image's tag, and as a root file system tarball in the store's cache.
 *
 * The image holds no SSH key and no SSH host key: each machine gets its own key pair at create
 * and its own host keys at first boot.
 */

export const SUITE = 'bookworm';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** Also in docker/machine-image/Dockerfile (a unit test keeps the two the same). */
export const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'sudo',
  'procps',
  'iproute2',
  'iptables',
  'ca-certificates',
  'curl',
  'docker.io',
];

/** sshd offers only the key it has (without this it logs each missing default key). */
export const SSHD_CONF = `HostKey /etc/ssh/ssh_host_ed25519_key
`;

/**
 * The inner engine starts once it is provisioned, not at boot and again with its TLS options:
 * the first boot has no server certificate (provisioning puts it in /etc/docker, see
 * src/provision/daemon-options.ts), so docker.service waits for it. Later boots start it.
 */
export const DOCKER_DROP_IN = `[Unit]
ConditionPathExists=/etc/docker/server.pem
`;

/**
 * The inner engine keeps its containers running through its own restarts (live-restore), so at
 * a machine's stop systemd is what ends them: without a bound it waits 90 s for each.
 */
export const SYSTEM_CONF = `[Manager]
DefaultTimeoutStopSec=10s
`;

/** Where the image holds each file of its recipe (docker/machine-image/ has each beside the Dockerfile). */
export const IMAGE_FILES: [path: string, content: string][] = [
  ['etc/systemd/system/ssh-hostkeys.service', HOSTKEYS_UNIT],
  ['etc/ssh/sshd_config.d/10-machine.conf', SSHD_CONF],
  ['etc/systemd/system/docker.service.d/05-machine-image.conf', DOCKER_DROP_IN],
  ['etc/systemd/system.conf.d/10-machine.conf', SYSTEM_CONF],
];

/** Image settings that `docker import` takes as --change lines (the container sets the rest). */
export const IMAGE_CHANGES = ['CMD ["/lib/systemd/systemd"]', 'ENV container=docker'];

const hash = (o: unknown) => createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 12);

/** The root file system's recipe hash: a changed recipe makes a new tarball. */
export function rootfsHash(): string {
  return hash({ v: 2, suite: SUITE, packages: PACKAGES, files: IMAGE_FILES });
}

/** The default image's name on the engine, by the hash of everything that makes it. */
export function defaultImage(): string {
  return `docker-machine-debian:${SUITE}-${hash({ rootfs: rootfsHash(), changes: IMAGE_CHANGES })}`;
}

export interface ImageOptions {
  api: DockerAPI;
  /** The image the user asked for ('' for the default one). */
  image: string;
  mirror: string;
  /** The store's cache folder (root file system tarballs). */
  cacheDir: string;
  log(line: string): void;
}

/** Find the machine image on the engine, or pull, import or build it. Returns its name. */
export async function ensureImage(o: ImageOptions): Promise<string> {
  if (o.image !== '') {
    if (await imageExists(o.api, o.image)) return o.image;
    o.log(`Pulling image ${o.image}...`);
    try {
      const out = await o.api.call('POST', `/images/create${query({ fromImage: o.image })}`, {
        timeoutMs: 120_000,
      });
      const err = streamError(out);
      if (err) throw new MachineError(err);
    } catch (err) {
      throw new MachineError(
        `image ${o.image} is not on ${o.api.where} and pulling it failed (${errorMessage(err)}); load or build it there first, or leave out --docker-image to use the driver's own image`,
      );
    }
    return o.image;
  }
  const image = defaultImage();
  const dir = join(o.cacheDir, 'docker-driver');
  const tarball = join(dir, `debian-${SUITE}-${rootfsHash()}.tar`);
  // What builds killed before they finished left: removed by whichever run comes next.
  await removeLeftoversOf(tarball);
  if (await imageExists(o.api, image)) return image;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Parallel creates on one engine wait for one import; on other engines they import at the same
  // time. Both locks are held across long steps, so their waiters wait on the holder's refreshes.
  const engine = await engineKey(o.api);
  return withFileLock(
    join(dir, `import-${engine}.lock`),
    {
      what: `The machine image on ${o.api.where}`,
      doing: `importing the machine image into ${o.api.where}`,
      log: o.log,
      timeoutMs: Number.POSITIVE_INFINITY,
    },
    async () => {
      if (await imageExists(o.api, image)) return image;
      if (!existsSync(tarball)) {
        await withFileLock(
          join(dir, `${rootfsHash()}.lock`),
          {
            what: 'The machine image build',
            doing: 'building the machine image with debootstrap',
            log: o.log,
            timeoutMs: Number.POSITIVE_INFINITY,
          },
          async () => {
            // Earlier releases named these without their maker's pid; none runs now (we hold the lock).
            for (const f of await readdir(dir)) {
              if (
                f === `${basename(tarball)}.tmp` ||
                (f.startsWith(`${basename(tarball)}.build-`) && partialOwner(f) === undefined)
              )
                await removePartial(join(dir, f));
            }
            if (!existsSync(tarball)) await buildRootfs(tarball, o.mirror, o.log);
          },
        );
      }
      await importImage(o.api, tarball, image, o.log);
      return image;
    },
  );
}

/** The engine's ID (one engine may be reached at several addresses), else its address. */
async function engineKey(api: DockerAPI): Promise<string> {
  const info = await api.json<{ ID?: string }>('GET', '/info').catch(() => undefined);
  const id = typeof info?.ID === 'string' && info.ID !== '' ? info.ID : api.where;
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

async function imageExists(api: DockerAPI, image: string): Promise<boolean> {
  return (await api.jsonOrNull('GET', `/images/${encodeURIComponent(image)}/json`)) !== null;
}

/** debootstrap a Debian root file system and pack it as a tarball. */
async function buildRootfs(tarball: string, mirror: string, log: (l: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new MachineError(
      `the machine image ${defaultImage()} is not on the engine, and building it needs root (debootstrap); run this create once as root, or give --docker-image an image with systemd and sshd`,
    );
  }
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  try {
    await promisify(execFile)('sh', ['-c', 'command -v debootstrap']);
  } catch {
    throw new MachineError(
      `the machine image ${defaultImage()} is not on the engine and debootstrap, which builds it, is not installed: install it (apt-get install debootstrap), or give --docker-image an image with systemd and sshd`,
    );
  }
  await packRootfs(tarball, (root) => fillRootfs(root, mirror, log));
}

/**
 * Fill a root folder and pack it as TARBALL: the folder and the tar being written carry partial
 * names with this process's pid (cache/partial.ts), and the tarball takes its name when complete.
 */
export async function packRootfs(tarball: string, fill: (root: string) => Promise<void>): Promise<void> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await removeLeftoversOf(tarball);
  const root = await makePartialDir(tarball);
  const tmp = partialFile(tarball);
  try {
    await fill(root);
    await pauseAt('rootfs-filled');
    await promisify(execFile)('tar', ['--numeric-owner', '-C', root, '-cf', tmp, '.']);
    await pauseAt('rootfs-packed');
    await rename(tmp, tarball);
  } finally {
    await removePartial(root);
    await rm(tmp, { force: true });
  }
}

async function fillRootfs(root: string, mirror: string, log: (l: string) => void): Promise<void> {
  const { execFile, spawn } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  log(
    `Building the machine image from ${mirror} with debootstrap (${SUITE}, ${PACKAGES.length} packages); this takes a minute or two...`,
  );
  await debootstrap(spawn, root, mirror, log);
  log('Configuring the machine image...');
  // No host key in the image: every machine makes its own at first boot.
  await run('sh', ['-c', `rm -f ${root}/etc/ssh/ssh_host_*`]);
  for (const [path, content] of IMAGE_FILES) {
    await mkdir(join(root, dirname(path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await run('chroot', [root, 'systemctl', 'enable', 'ssh', 'ssh-hostkeys', 'docker']);
  // systemd makes a machine id at boot when the file is empty.
  await writeFile(join(root, 'etc/machine-id'), '');
  await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  // The downloaded packages are installed already: leave them out of the image.
  await run('sh', ['-c', `rm -rf ${root}/var/cache/apt/archives/*.deb ${root}/var/lib/apt/lists/*`]);
}

/** Runs debootstrap, showing each of its phases once. */
function debootstrap(
  spawn: typeof import('node:child_process').spawn,
  root: string,
  mirror: string,
  log: (l: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'debootstrap',
      ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, mirror],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const phases = new Set<string>();
    let tail: string[] = [];
    const onLine = (line: string) => {
      tail = [...tail.slice(-9), line];
      const m =
        /^I: (Retrieving|Validating|Extracting|Installing|Configuring|Unpacking|Base system installed)/.exec(
          line,
        );
      if (m && !phases.has(m[1])) {
        phases.add(m[1]);
        log(`debootstrap: ${line.slice(3).trim()}`);
      }
    };
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new MachineError(`debootstrap failed to start: ${errorMessage(err)}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      reject(
        new MachineError(
          `building the machine image with debootstrap from ${mirror} failed (exit status ${code}); its last lines:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}

/** POST /images/create?fromSrc=-: what `docker import` does, with upload progress. */
async function importImage(
  api: DockerAPI,
  tarball: string,
  image: string,
  log: (l: string) => void,
): Promise<void> {
  const size = (await stat(tarball)).size;
  log(`Importing the machine image into ${api.where} (${Math.round(size / 1e6)} MB)...`);
  const [repo, tag] = splitTag(image);
  const changes = IMAGE_CHANGES.map((c) => `&changes=${encodeURIComponent(c)}`).join('');
  const stream = createReadStream(tarball);
  let sent = 0;
  let shown = 0;
  stream.on('data', (c) => {
    sent += c.length;
    const pct = Math.floor((sent / size) * 4) * 25;
    if (pct > shown && pct < 100) {
      shown = pct;
      log(`Importing the machine image: ${pct}%`);
    }
  });
  let out: Buffer;
  try {
    out = await api.call('POST', `/images/create${query({ fromSrc: '-', repo, tag })}${changes}`, {
      stream,
      timeoutMs: 300_000,
    });
  } catch (err) {
    if (err instanceof EngineAPIError)
      throw new MachineError(`importing the machine image failed: ${err.message}`);
    throw err;
  }
  const err = streamError(out);
  if (err) throw new MachineError(`importing the machine image failed: ${err}`);
}

function splitTag(image: string): [string, string] {
  const i = image.lastIndexOf(':');
  return i > image.lastIndexOf('/') ? [image.slice(0, i), image.slice(i + 1)] : [image, 'latest'];
}
