import { MachineError } from '../errors.js';
import type { ExecResult } from '../ssh/client.js';
import { DEFAULT_INSTALL_URL } from '../store/host.js';
import { type BatchStep, runBatch } from './batch.js';
import { mustRun, type ProvisionContext, tail } from './context.js';
import type { PackageManager } from './packages.js';
import { compareVersions, parseDockerdVersion, versionMatches, withoutEpoch } from './versions.js';

/** Where a distribution's engine comes from. */
export interface EngineSource {
  /** null: the engine is part of the OS image (Flatcar, Fedora CoreOS, boot2docker). */
  packages: PackageManager | null;
  /** The distribution's name for the engine package (docker.io, moby-engine, docker, ...). */
  enginePackage: string;
  /** Whether get.docker.com supports the distribution; a custom --engine-install-url is always tried. */
  defaultScriptWorks: boolean;
  /** Runs before the engine is installed from packages (SLES: the containers module). */
  beforePackages?(ctx: ProvisionContext, sudo: string): Promise<void>;
  /** For OS-image engines: how the OS updates its engine. */
  osUpdate?: string;
  /** As errors name the OS. */
  osName: string;
}

export interface InstalledEngine {
  /** `dockerd --version` as printed. */
  line: string;
  version: string;
}

const SCRIPT = '/tmp/docker-machine-install.sh';

/** Where dockerd is: on the PATH, else where the distributions put it (the PATH may lack sbin). */
export const FIND_DOCKERD =
  'command -v dockerd || ls /usr/bin/dockerd /usr/sbin/dockerd 2>/dev/null | head -n 1';

/** Is there an engine, and which: a probe that can share a round trip with others. */
export const engineVersionStep = (sudo: string): BatchStep => ({
  cmd: `${sudo}dockerd --version`,
  probe: true,
});

/** The engine that `dockerd --version` reported; null when there is none. */
export function installedFrom(r: ExecResult): InstalledEngine | null {
  if (r.code !== 0) return null;
  const line = r.stdout.trim();
  return { line, version: parseDockerdVersion(line) ?? line };
}

async function installedEngine(ctx: ProvisionContext, sudo: string): Promise<InstalledEngine | null> {
  return installedFrom((await runBatch(ctx, [engineVersionStep(sudo)]))[0]);
}

/**
 * The rackspace driver's --rackspace-docker-install false (kept in its config as DockerInstall):
 * the image brings the engine, and provisioning installs none.
 */
export function engineInstallOff(ctx: Pick<ProvisionContext, 'config'>): boolean {
  return String(ctx.config.Driver.DockerInstall ?? '') === 'false';
}

const pinOf = (ctx: ProvisionContext) => ctx.config.HostOptions.EngineOptions.EngineVersion ?? '';

/**
 * The engine step of provisioning: keep an engine that is there (and at the pinned version, when
 * one is pinned); else install the pinned version from the distribution's packages, or the
 * install script's engine when the machine can fetch it, or the distribution's package.
 * `found` is what a probe already read (engineVersionStep); true when an engine was installed.
 */
export async function ensureEngine(
  ctx: ProvisionContext,
  sudo: string,
  src: EngineSource,
  found?: InstalledEngine | null,
): Promise<boolean> {
  const pin = pinOf(ctx);
  const have = found === undefined ? await installedEngine(ctx, sudo) : found;
  if (have && (pin === '' || versionMatches(pin, have.version))) {
    ctx.info(`Docker already installed (${have.line}), keeping it`);
    return false;
  }
  if (engineInstallOff(ctx)) {
    if (!have)
      throw new MachineError(
        '--rackspace-docker-install false, but the image has no Docker engine (no dockerd): give an image with Docker, or leave the flag out',
      );
    ctx.info(`Docker ${have.version} kept: --rackspace-docker-install false installs no other version`);
    return false;
  }
  if (!src.packages) throw osEngineError(src, have, pin);
  if (have) {
    ctx.info(`Docker ${have.version} is installed; installing ${pin} as --engine-version asks`);
  } else {
    ctx.info('Installing Docker...');
  }
  if (pin) await installPinned(ctx, sudo, src, src.packages, pin, have);
  else await installLatest(ctx, sudo, src, src.packages);
  return true;
}

/**
 * `upgrade`: the pinned version when one is pinned; else a newer version of the package that
 * owns dockerd (docker-ce when the install script put it there, the distribution's package
 * otherwise); a dockerd of no package came from the install script, which runs again.
 */
export async function upgradeEngine(ctx: ProvisionContext, sudo: string, src: EngineSource): Promise<void> {
  const pm = src.packages;
  if (!pm) throw osEngineError(src, await installedEngine(ctx, sudo), '');
  const pin = pinOf(ctx);
  const have = await installedEngine(ctx, sudo);
  if (pin) {
    if (!have || !versionMatches(pin, have.version)) await installPinned(ctx, sudo, src, pm, pin, have);
    else ctx.info(`Docker ${have.version} is the pinned version (--engine-version ${pin}), keeping it`);
    return;
  }
  if (!have) {
    await installLatest(ctx, sudo, src, pm);
    return;
  }
  const pkg = await ownerPackage(ctx, pm);
  if (pkg) {
    const r = await ctx.ssh.run(pm.upgrade(sudo, pkg));
    if (r.code !== 0) throw new MachineError(`error upgrading docker (${pkg} with ${pm.name}): ${tail(r)}`);
    return;
  }
  const url = ctx.config.HostOptions.EngineOptions.InstallURL;
  const why = await runInstallScript(ctx, sudo, url);
  if (why !== null) {
    throw new MachineError(
      `error upgrading docker: dockerd belongs to no package, and the install script at ${url || '(no --engine-install-url)'} did not run (${why})`,
    );
  }
}

async function installLatest(
  ctx: ProvisionContext,
  sudo: string,
  src: EngineSource,
  pm: PackageManager,
): Promise<void> {
  const url = ctx.config.HostOptions.EngineOptions.InstallURL;
  if (url && (src.defaultScriptWorks || url !== DEFAULT_INSTALL_URL)) {
    const why = await runInstallScript(ctx, sudo, url);
    if (why === null) return;
    ctx.info(`The install script at ${url} did not run (${why}); trying the distribution's packages`);
  }
  await src.beforePackages?.(ctx, sudo);
  const r = await ctx.ssh.run(pm.install(sudo, [src.enginePackage]));
  if (r.code !== 0 || !(await hasDockerd(ctx))) {
    throw new MachineError(
      `error installing docker: neither ${url || 'an install URL'} nor the distribution's ${src.enginePackage} package could be installed: ${tail(r)}`,
    );
  }
}

/** null when the script ran and left a dockerd; else why not. */
async function runInstallScript(ctx: ProvisionContext, sudo: string, url: string): Promise<string | null> {
  if (!url) return 'no --engine-install-url';
  // Downloaded first: with `curl | sh` a failed download still "succeeds" (sh reads nothing).
  const r = await ctx.ssh.run(
    `command -v curl >/dev/null && curl -fsSL --max-time 60 -o ${SCRIPT} ${quote(url)} && ${sudo}sh ${SCRIPT}`,
  );
  await ctx.ssh.run(`rm -f ${SCRIPT}`);
  if (r.code === 0 && (await hasDockerd(ctx))) return null;
  return (r.stderr || r.stdout).trim().split('\n').pop() || `exit status ${r.code}`;
}

/** The newest version of the engine package that the pin names, from the machine's sources. */
async function installPinned(
  ctx: ProvisionContext,
  sudo: string,
  src: EngineSource,
  pm: PackageManager,
  pin: string,
  have: InstalledEngine | null,
): Promise<void> {
  const pkg = (have && (await ownerPackage(ctx, pm))) || src.enginePackage;
  if (!have) await src.beforePackages?.(ctx, sudo);
  if (pm.refresh) await mustRun(ctx, pm.refresh(sudo));
  const listed = pm.parseVersions((await ctx.ssh.run(pm.listVersions(pkg))).stdout, pkg);
  const newestFirst = [...listed].sort((a, b) => compareVersions(b.version, a.version));
  // A full version picks itself; a shorter pin (24.0, 24.0.7) the newest version it names.
  const match =
    newestFirst.find((v) => withoutEpoch(v.version) === withoutEpoch(pin)) ??
    newestFirst.find((v) => versionMatches(pin, v.version));
  if (!match) {
    const where = listed.length
      ? [...new Set(listed.map((v) => v.source))]
      : pm.parseSources((await ctx.ssh.run(pm.sources())).stdout);
    const found = listed.length
      ? `found only ${[...new Set(newestFirst.map((v) => v.version))].join(', ')}`
      : `found no ${pkg} at all`;
    throw new MachineError(
      `${pkg} ${pin} (--engine-version) is not in the machine's package sources: ${pm.name} looked in ${where.join(', ') || 'no source'} and ${found}`,
    );
  }
  const r = await ctx.ssh.run(pm.installExact(sudo, pkg, match.version));
  if (r.code !== 0 || !(await hasDockerd(ctx))) {
    throw new MachineError(`error installing docker: ${pkg} ${match.version} (${match.source}): ${tail(r)}`);
  }
  ctx.info(`Installed ${pkg} ${withoutEpoch(match.version)} from ${match.source}`);
}

async function ownerPackage(ctx: ProvisionContext, pm: PackageManager): Promise<string | null> {
  const path = (await ctx.ssh.run(FIND_DOCKERD)).stdout.trim();
  if (!path) return null;
  const r = await ctx.ssh.run(pm.owner(path));
  return r.code === 0 ? pm.parseOwner(r.stdout) : null;
}

export async function hasDockerd(ctx: ProvisionContext): Promise<boolean> {
  return (
    (
      await ctx.ssh.run(
        'command -v dockerd >/dev/null || test -x /usr/bin/dockerd || test -x /usr/sbin/dockerd',
      )
    ).code === 0
  );
}

function osEngineError(src: EngineSource, have: InstalledEngine | null, pin: string): MachineError {
  const os = src.osName;
  if (!have)
    return new MachineError(`no Docker engine on the machine, and on ${os} it comes with the OS image`);
  if (pin) {
    return new MachineError(
      `the engine of ${os} comes with the OS image (${have.version}); --engine-version ${pin} cannot change it: ${src.osUpdate}`,
    );
  }
  return new MachineError(`the engine of ${os} comes with the OS image (${have.version}): ${src.osUpdate}`);
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}
