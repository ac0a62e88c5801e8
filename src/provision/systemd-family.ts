import { isSSHEngine } from '../engine/endpoint.js';
import { MachineError } from '../errors.js';
import type { HostConfig } from '../store/host.js';
import { mustRun, type ProvisionContext, sudoPrefix } from './context.js';
import { type DaemonSetup, systemdDropIn } from './daemon-options.js';
import { type EngineSource, ensureEngine, upgradeEngine } from './engine-install.js';
import type { Provisioner } from './provisioner.js';
import { seededEngineHolds } from './seeded-engine.js';
import { configureHostname, installCertificates } from './steps.js';

const DROP_IN_DIR = '/etc/systemd/system/docker.service.d';
export const DROP_IN = `${DROP_IN_DIR}/10-machine.conf`;

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
 * Only where the engine comes from differs between families.
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
      await configureHostname(ctx, sudo);
      await ensureEngine(ctx, sudo, f);
      await installCertificates(ctx, sudo);
      await socketAccessForSSHUser(ctx, sudo);
      ctx.info('Setting Docker configuration on the remote daemon...');
      await configureSystemdDaemon(ctx, sudo);
      if (f.firewalld && !isSSHEngine(ctx.config)) await openFirewalldPort(ctx, sudo);
      await restartSystemdEngine(ctx, sudo);
      await ctx.waitForEngine();
    },
    async regenerateCerts(ctx) {
      const sudo = sudoPrefix(ctx);
      await installCertificates(ctx, sudo);
      await restartSystemdEngine(ctx, sudo);
      await ctx.waitForEngine();
    },
    async upgrade(ctx) {
      const sudo = sudoPrefix(ctx);
      ctx.info('Upgrading docker...');
      await upgradeEngine(ctx, sudo, f);
      ctx.info('Restarting docker...');
      await restartSystemdEngine(ctx, sudo);
      await ctx.waitForEngine();
    },
  };
}

/**
 * A drop-in replacing docker.service's ExecStart: TLS and the machine's options, dockerd from
 * wherever the distribution puts it, and fd:// where docker.socket hands over the unix socket.
 */
export async function configureSystemdDaemon(ctx: ProvisionContext, sudo: string): Promise<void> {
  const dockerd = (
    await mustRun(ctx, 'command -v dockerd || ls /usr/bin/dockerd /usr/sbin/dockerd 2>/dev/null | head -n 1')
  ).trim();
  if (!dockerd) throw new MachineError('dockerd not found on the machine after installing Docker');
  const socket = await ctx.ssh.run('systemctl cat docker.socket >/dev/null 2>&1');
  await mustRun(
    ctx,
    `${sudo}mkdir -p ${DROP_IN_DIR} && ${sudo}tee ${DROP_IN} >/dev/null`,
    machineDropIn(ctx.config, { dockerd, port: ctx.enginePort, socketActivated: socket.code === 0 }),
  );
  // `systemctl enable` takes seconds (a SysV sync and a reload of every unit): skip it when done.
  await mustRun(
    ctx,
    `systemctl is-enabled -q docker 2>/dev/null || ${sudo}systemctl enable docker >/dev/null 2>&1 || true`,
  );
}

/** The drop-in for the machine's engine options, given its dockerd, port and docker.socket. */
export function machineDropIn(
  config: HostConfig,
  engine: Pick<DaemonSetup, 'dockerd' | 'port' | 'socketActivated'>,
): string {
  return systemdDropIn({
    ...engine,
    driverName: config.DriverName,
    engine: config.HostOptions.EngineOptions,
    swarm: config.HostOptions.SwarmOptions.IsSwarm,
  });
}

/**
 * With live-restore on (the drop-in sets it), containers keep running through this. Stop, then
 * start, not restart: while the unit is still starting (a host just booted), systemd turns a
 * restart into the start already under way, which keeps the old command line and our drop-in
 * would not apply.
 */
export async function restartSystemdEngine(ctx: ProvisionContext, sudo: string): Promise<void> {
  const cmd = `${sudo}systemctl daemon-reload && ${sudo}systemctl stop docker && ${sudo}systemctl start docker`;
  const r = await ctx.ssh.run(cmd);
  if (r.code !== 0) {
    const journal = await ctx.ssh.run(`${sudo}journalctl -u docker --no-pager -n 15 2>&1`);
    throw new MachineError(
      `restarting docker failed: ${(r.stderr || r.stdout).trim()}\nlast lines of its journal:\n${journal.stdout.trim()}`,
    );
  }
}

/**
 * An SSH-only engine is reached by `docker system dial-stdio` as the SSH user, through the
 * engine's socket: a user other than root needs the docker group, which owns it. New logins (each
 * engine connection is one) have it.
 */
async function socketAccessForSSHUser(ctx: ProvisionContext, sudo: string): Promise<void> {
  if (!isSSHEngine(ctx.config) || sudo === '') return;
  const user = String(ctx.config.Driver.SSHUser).replaceAll("'", "'\\''");
  await mustRun(
    ctx,
    `getent group docker >/dev/null || ${sudo}groupadd docker; ${sudo}usermod -aG docker '${user}'`,
  );
}

/** Where firewalld runs (Fedora and RHEL turn it on), the engine port must be let through. */
async function openFirewalldPort(ctx: ProvisionContext, sudo: string): Promise<void> {
  const p = ctx.enginePort;
  await mustRun(
    ctx,
    `if systemctl is-active -q firewalld 2>/dev/null; then ${sudo}firewall-cmd -q --permanent --add-port=${p}/tcp && ${sudo}firewall-cmd -q --reload; fi`,
  );
}
