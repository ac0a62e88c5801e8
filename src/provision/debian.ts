import { MachineError } from '../errors.js';
import { mustRun, type ProvisionContext } from './context.js';
import { type DaemonSetup, systemdDropIn } from './daemon-options.js';
import type { Provisioner } from './provisioner.js';
import { configureHostname, installCertificates } from './steps.js';

const DROP_IN = '/etc/systemd/system/docker.service.d/10-machine.conf';

/**
 * Debian and Ubuntu with systemd. A host that already runs an engine keeps it (the fast path:
 * no package installs, no reinstall); the daemon gets TLS and the machine's options through a
 * systemd drop-in that starts dockerd from wherever the host has it.
 */
export function debianFamily(name: string): Provisioner {
  return {
    name,
    async regenerateCerts(ctx: ProvisionContext) {
      const sudo = sudoFor(ctx);
      await installCertificates(ctx, sudo);
      await restartEngine(ctx, sudo);
      await ctx.waitForEngine();
    },
    async provision(ctx: ProvisionContext) {
      const sudo = sudoFor(ctx);
      await configureHostname(ctx, sudo);

      const installed = await ctx.ssh.run(`${sudo}dockerd --version`);
      if (installed.code === 0) {
        ctx.info(`Docker already installed (${installed.stdout.trim()}), keeping it`);
      } else {
        ctx.info('Installing Docker...');
        await installEngine(ctx, sudo);
      }

      await installCertificates(ctx, sudo);

      ctx.info('Setting Docker configuration on the remote daemon...');
      const dockerd = (
        await mustRun(
          ctx,
          'command -v dockerd || ls /usr/bin/dockerd /usr/sbin/dockerd 2>/dev/null | head -n 1',
        )
      ).trim();
      if (!dockerd) throw new MachineError('dockerd not found on the machine after installing Docker');
      const socket = await ctx.ssh.run('systemctl cat docker.socket >/dev/null 2>&1');
      const setup: DaemonSetup = {
        dockerd,
        port: ctx.enginePort,
        socketActivated: socket.code === 0,
        driverName: ctx.driverName,
        engine: ctx.config.HostOptions.EngineOptions,
      };
      await mustRun(
        ctx,
        `${sudo}mkdir -p /etc/systemd/system/docker.service.d && ${sudo}tee ${DROP_IN} >/dev/null`,
        systemdDropIn(setup),
      );
      await mustRun(ctx, `${sudo}systemctl enable docker >/dev/null 2>&1 || true`);
      await restartEngine(ctx, sudo);
      await ctx.waitForEngine();
    },
  };
}

function sudoFor(ctx: ProvisionContext): string {
  const user = ctx.config.Driver.SSHUser;
  return user === 'root' || user === '' ? '' : 'sudo ';
}

/** With live-restore on (our drop-in sets it), containers keep running through this. */
async function restartEngine(ctx: ProvisionContext, sudo: string): Promise<void> {
  const r = await ctx.ssh.run(`${sudo}systemctl daemon-reload && ${sudo}systemctl restart docker`);
  if (r.code !== 0) {
    const journal = await ctx.ssh.run(`${sudo}journalctl -u docker --no-pager -n 15 2>&1`);
    throw new MachineError(
      `restarting docker failed: ${(r.stderr || r.stdout).trim()}\nlast lines of its journal:\n${journal.stdout.trim()}`,
    );
  }
}

/**
 * The install URL's script (get.docker.com by default) when the host can fetch it, else the
 * distribution's own package.
 */
async function installEngine(ctx: ProvisionContext, sudo: string): Promise<void> {
  const url = ctx.config.HostOptions.EngineOptions.InstallURL;
  if (url) {
    // Downloaded first: with `curl | sh` a failed download still "succeeds" (sh reads nothing).
    const script = '/tmp/docker-machine-install.sh';
    const r = await ctx.ssh.run(
      `command -v curl >/dev/null && curl -fsSL --max-time 60 -o ${script} ${shellQuote(url)} && ${sudo}sh ${script}`,
    );
    await ctx.ssh.run(`rm -f ${script}`);
    if (r.code === 0 && (await hasDockerd(ctx))) return;
    const why = (r.stderr || r.stdout).trim().split('\n').pop() || `exit status ${r.code}`;
    ctx.info(`The install script at ${url} did not run (${why}); trying the distribution's packages`);
  }
  const r = await ctx.ssh.run(
    `${sudo}env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q && apt-get install -y -q docker.io'`,
  );
  if (r.code !== 0 || !(await hasDockerd(ctx))) {
    throw new MachineError(
      `error installing docker: neither ${url || 'an install URL'} nor the distribution's docker.io package could be installed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`,
    );
  }
}

async function hasDockerd(ctx: ProvisionContext): Promise<boolean> {
  return (
    (
      await ctx.ssh.run(
        'command -v dockerd >/dev/null || test -x /usr/bin/dockerd || test -x /usr/sbin/dockerd',
      )
    ).code === 0
  );
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}
