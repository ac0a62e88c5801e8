import { goQuote, MachineError } from '../errors.js';
import { type BatchStep, runBatch } from './batch.js';
import { type ProvisionContext, sudoPrefix } from './context.js';
import { boot2dockerProfile } from './daemon-options.js';
import {
  type EngineSource,
  engineVersionStep,
  ensureEngine,
  installedFrom,
  upgradeEngine,
} from './engine-install.js';
import type { Detection, Provisioner } from './provisioner.js';
import { certificateSteps } from './steps.js';

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
    const [, engine] = await runBatch(ctx, [hostnameStep(ctx, sudo), engineVersionStep(sudo)]);
    await ensureEngine(ctx, sudo, source, installedFrom(engine));
    const certs = await certificateSteps(ctx, sudo, B2D_DIR);
    ctx.info('Setting Docker configuration on the remote daemon...');
    await runBatch(ctx, [...certs, profileStep(ctx, sudo), restartStep(sudo)]);
    await ctx.waitForEngine();
  },
  async regenerateCerts(ctx) {
    const sudo = sudoPrefix(ctx);
    await runBatch(ctx, [...(await certificateSteps(ctx, sudo, B2D_DIR)), restartStep(sudo)]);
    await ctx.waitForEngine();
  },
  async upgrade(ctx) {
    ctx.info('Upgrading docker...');
    await upgradeEngine(ctx, sudoPrefix(ctx), source);
  },
};

function hostnameStep(ctx: ProvisionContext, sudo: string): BatchStep {
  const n = ctx.name;
  return {
    cmd: `${sudo}/usr/bin/sethostname ${n} && echo ${goQuote(n)} | ${sudo}tee ${B2D_DIR}/etc/hostname >/dev/null`,
  };
}

function profileStep(ctx: ProvisionContext, sudo: string): BatchStep {
  const profile = boot2dockerProfile({
    dockerd: 'dockerd',
    port: ctx.enginePort,
    socketActivated: false,
    driverName: ctx.driverName,
    engine: ctx.config.HostOptions.EngineOptions,
    certDir: B2D_DIR,
    swarm: ctx.config.HostOptions.SwarmOptions.IsSwarm,
  });
  return { cmd: `${sudo}mkdir -p ${B2D_DIR} && ${sudo}tee ${B2D_DIR}/profile >/dev/null`, input: profile };
}

function restartStep(sudo: string): BatchStep {
  return {
    cmd: `${sudo}/etc/init.d/docker restart`,
    failure: async (r) => new MachineError(`restarting docker failed: ${(r.stderr || r.stdout).trim()}`),
  };
}

export const detections: Detection[] = [
  { compatible: (os) => os.ID === 'boot2docker', make: () => boot2docker },
];
