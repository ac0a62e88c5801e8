import { goQuote, MachineError } from '../errors.js';
import { mustRun, type ProvisionContext, sudoPrefix } from './context.js';
import { boot2dockerProfile } from './daemon-options.js';
import { type EngineSource, ensureEngine, upgradeEngine } from './engine-install.js';
import type { Detection, Provisioner } from './provisioner.js';
import { installCertificates } from './steps.js';

/** boot2docker keeps what survives a reboot here; its init script reads `profile`. */
const B2D_DIR = '/var/lib/boot2docker';

const source: EngineSource = {
  packages: null,
  enginePackage: 'docker',
  defaultScriptWorks: false,
  osName: 'boot2docker',
  osUpdate: 'it comes with the boot2docker ISO: re-create the machine from a newer ISO',
};

/** boot2docker (spec §5.3.8): the engine is in the ISO; options go to its profile, not to systemd. */
export const boot2docker: Provisioner = {
  name: 'boot2docker',
  async provision(ctx) {
    const sudo = sudoPrefix(ctx);
    await setHostname(ctx, sudo);
    await ensureEngine(ctx, sudo, source);
    await installCertificates(ctx, sudo, B2D_DIR);
    ctx.info('Setting Docker configuration on the remote daemon...');
    await writeProfile(ctx, sudo);
    await restartEngine(ctx, sudo);
    await ctx.waitForEngine();
  },
  async regenerateCerts(ctx) {
    const sudo = sudoPrefix(ctx);
    await installCertificates(ctx, sudo, B2D_DIR);
    await restartEngine(ctx, sudo);
    await ctx.waitForEngine();
  },
  async upgrade(ctx) {
    ctx.info('Upgrading docker...');
    await upgradeEngine(ctx, sudoPrefix(ctx), source);
  },
};

async function setHostname(ctx: ProvisionContext, sudo: string): Promise<void> {
  const n = ctx.name;
  await mustRun(
    ctx,
    `${sudo}/usr/bin/sethostname ${n} && echo ${goQuote(n)} | ${sudo}tee ${B2D_DIR}/etc/hostname >/dev/null`,
  );
}

async function writeProfile(ctx: ProvisionContext, sudo: string): Promise<void> {
  const profile = boot2dockerProfile({
    dockerd: 'dockerd',
    port: ctx.enginePort,
    socketActivated: false,
    driverName: ctx.driverName,
    engine: ctx.config.HostOptions.EngineOptions,
    certDir: B2D_DIR,
    swarm: ctx.config.HostOptions.SwarmOptions.IsSwarm,
  });
  await mustRun(ctx, `${sudo}mkdir -p ${B2D_DIR} && ${sudo}tee ${B2D_DIR}/profile >/dev/null`, profile);
}

async function restartEngine(ctx: ProvisionContext, sudo: string): Promise<void> {
  const r = await ctx.ssh.run(`${sudo}/etc/init.d/docker restart`);
  if (r.code !== 0) {
    throw new MachineError(`restarting docker failed: ${(r.stderr || r.stdout).trim()}`);
  }
}

export const detections: Detection[] = [
  { compatible: (os) => os.ID === 'boot2docker', make: () => boot2docker },
];
