import { isSSHEngine } from '../engine/endpoint.js';
import { type BatchStep, runBatch } from './batch.js';
import { type ProvisionContext, sudoPrefix } from './context.js';
import {
  type EngineSource,
  engineVersionStep,
  ensureEngine,
  installedFrom,
  upgradeEngine,
} from './engine-install.js';
import type { Provisioner } from './provisioner.js';
import { seededEngineHolds } from './seeded-engine.js';
import { certificateSteps, hostnameSteps } from './steps.js';
import {
  daemonConfig,
  daemonFactSteps,
  loadedStateSteps,
  readDaemonFacts,
  readLoaded,
  restartStep,
} from './systemd-daemon.js';

/** A distribution whose engine runs as systemd's docker.service. */
export interface SystemdFamily extends EngineSource {
  /** As the original prints it: `Provisioning with fedora...`. */
  name: string;
  /** firewalld guards ports on these distributions (RHEL and relatives, SUSE). */
  firewalld?: boolean;
}

/**
 * Provisioning for every systemd distribution, in the steps of DESIGN.md §5: hostname, engine
 * (kept when present), certificates, daemon options in a drop-in, restart, wait for the API.
 * Only where the engine comes from differs between families. A host that runs an engine takes
 * two round trips after its OS is read: one that sets the hostname and reads what the rest
 * depends on, one that writes the files and restarts the engine.
 */
export function systemdProvisioner(f: SystemdFamily): Provisioner {
  return {
    name: f.name,
    async provision(ctx) {
      const sudo = sudoPrefix(ctx);
      if (ctx.seededEngine && (await seededEngineHolds(ctx, ctx.seededEngine, sudo))) {
        ctx.info('Docker started at boot with the certificates and options the machine was seeded with');
        await ctx.waitForEngine();
        return;
      }
      const hostname = hostnameSteps(ctx, sudo);
      const found = await runBatch(ctx, [...hostname, engineVersionStep(sudo), ...daemonFactSteps()]);
      let facts = readDaemonFacts(found.slice(hostname.length + 1));
      // An engine just installed brings its own dockerd path and docker.socket: read them again.
      if (await ensureEngine(ctx, sudo, f, installedFrom(found[hostname.length]))) {
        facts = readDaemonFacts(await runBatch(ctx, daemonFactSteps()));
      }
      const certs = await certificateSteps(ctx, sudo);
      ctx.info('Setting Docker configuration on the remote daemon...');
      const daemon = daemonConfig(ctx, sudo, facts);
      await runBatch(ctx, [
        ...certs,
        ...socketAccessForSSHUser(ctx, sudo),
        ...daemon.steps,
        ...(f.firewalld && !isSSHEngine(ctx.config) ? [openFirewalldPort(ctx, sudo)] : []),
        restartStep(ctx, sudo, daemon.reload),
      ]);
      await ctx.waitForEngine();
    },
    async regenerateCerts(ctx) {
      const sudo = sudoPrefix(ctx);
      // The drop-in is not touched: a reload is needed only when systemd's files changed on disk.
      const loaded = readLoaded(await runBatch(ctx, loadedStateSteps()));
      await runBatch(ctx, [...(await certificateSteps(ctx, sudo)), restartStep(ctx, sudo, !loaded)]);
      await ctx.waitForEngine();
    },
    async upgrade(ctx) {
      const sudo = sudoPrefix(ctx);
      ctx.info('Upgrading docker...');
      await upgradeEngine(ctx, sudo, f);
      ctx.info('Restarting docker...');
      await runBatch(ctx, [restartStep(ctx, sudo)]);
      await ctx.waitForEngine();
    },
  };
}

/**
 * An SSH-only engine is reached by `docker system dial-stdio` as the SSH user, through the
 * engine's socket: a user other than root needs the docker group, which owns it. New logins (each
 * engine connection is one) have it.
 */
function socketAccessForSSHUser(ctx: ProvisionContext, sudo: string): BatchStep[] {
  if (!isSSHEngine(ctx.config) || sudo === '') return [];
  const user = String(ctx.config.Driver.SSHUser).replaceAll("'", "'\\''");
  return [
    { cmd: `getent group docker >/dev/null || ${sudo}groupadd docker; ${sudo}usermod -aG docker '${user}'` },
  ];
}

/** Where firewalld runs (Fedora and RHEL turn it on), the engine port must be let through. */
function openFirewalldPort(ctx: ProvisionContext, sudo: string): BatchStep {
  const p = ctx.enginePort;
  return {
    cmd: `if systemctl is-active -q firewalld 2>/dev/null; then ${sudo}firewall-cmd -q --permanent --add-port=${p}/tcp && ${sudo}firewall-cmd -q --reload; fi`,
  };
}
