import { MachineError } from '../errors.js';
import type { ExecResult } from '../ssh/client.js';
import type { HostConfig } from '../store/host.js';
import type { BatchStep } from './batch.js';
import type { ProvisionContext } from './context.js';
import { type DaemonSetup, systemdDropIn } from './daemon-options.js';
import { FIND_DOCKERD } from './engine-install.js';

const DROP_IN_DIR = '/etc/systemd/system/docker.service.d';
export const DROP_IN = `${DROP_IN_DIR}/10-machine.conf`;

/** Where docker.service's drop-ins can be: the unit search path's usual folders. */
const DROP_IN_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
].map((d) => `${d}/docker.service.d`);

/** What the drop-in depends on, and whether systemd already runs with the one on the machine. */
export interface DaemonFacts {
  /** Where dockerd is; '' when there is none. */
  dockerd: string;
  /** docker.socket exists: systemd hands over the unix socket (fd://). */
  socketActivated: boolean;
  /** Our drop-in as it is on the machine; null when it is not there or cannot be read. */
  dropIn: string | null;
  /** systemd has loaded our drop-in, and no file of docker.service changed or came since. */
  dropInLoaded: boolean;
}

/** Probes for DaemonFacts, in one round trip with others (the hostname, dockerd --version). */
export function daemonFactSteps(): BatchStep[] {
  return [
    { cmd: FIND_DOCKERD, probe: true },
    { cmd: 'systemctl cat docker.socket >/dev/null 2>&1', probe: true },
    { cmd: `cat ${DROP_IN}`, probe: true },
    ...loadedStateSteps(),
  ];
}

/** Probes for whether systemd runs docker.service with the files on disk (readLoaded). */
export function loadedStateSteps(): BatchStep[] {
  return [
    { cmd: 'systemctl show -p NeedDaemonReload -p DropInPaths docker', probe: true },
    { cmd: `ls -1d ${DROP_IN_DIRS.map((d) => `${d}/*.conf`).join(' ')} 2>/dev/null`, probe: true },
  ];
}

/** The results of daemonFactSteps, in their order. */
export function readDaemonFacts([dockerd, socket, dropIn, ...loaded]: ExecResult[]): DaemonFacts {
  return {
    dockerd: dockerd.stdout.trim(),
    socketActivated: socket.code === 0,
    dropIn: dropIn.code === 0 ? dropIn.stdout : null,
    dropInLoaded: readLoaded(loaded),
  };
}

/**
 * From loadedStateSteps: systemd has loaded our drop-in, and no file of docker.service changed or
 * came since. NeedDaemonReload alone is not trusted: systemd (252 here) says `no` for drop-ins in
 * a folder it has not seen since its last reload. So every drop-in on disk, ours included, must
 * be one it loaded as well.
 */
export function readLoaded([show, onDisk]: ExecResult[]): boolean {
  const props = new Map(
    show.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const loaded = (props.get('DropInPaths') ?? '').split(' ');
  // By name: a drop-in in a folder earlier in the search path hides one of the same name later.
  const names = new Set(loaded.map(baseName));
  const files = onDisk.stdout.split('\n').filter((l) => l !== '');
  return (
    show.code === 0 &&
    props.get('NeedDaemonReload') === 'no' &&
    loaded.includes(DROP_IN) &&
    files.every((f) => names.has(baseName(f)))
  );
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

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
 * A drop-in replacing docker.service's ExecStart: TLS and the machine's options, dockerd from
 * wherever the distribution puts it, and fd:// where docker.socket hands over the unix socket.
 * Written only when it differs from the machine's; `reload` says whether systemd must read the
 * unit's files again (the original always did).
 */
export function daemonConfig(
  ctx: ProvisionContext,
  sudo: string,
  facts: DaemonFacts,
): { steps: BatchStep[]; reload: boolean } {
  if (!facts.dockerd) throw new MachineError('dockerd not found on the machine after installing Docker');
  const content = machineDropIn(ctx.config, {
    dockerd: facts.dockerd,
    port: ctx.enginePort,
    socketActivated: facts.socketActivated,
  });
  const unchanged = facts.dropIn === content;
  const steps: BatchStep[] = unchanged
    ? []
    : [{ cmd: `${sudo}mkdir -p ${DROP_IN_DIR} && ${sudo}tee ${DROP_IN} >/dev/null`, input: content }];
  // `systemctl enable` takes seconds (a SysV sync and a reload of every unit): skip it when done.
  steps.push({
    cmd: `systemctl is-enabled -q docker 2>/dev/null || ${sudo}systemctl enable docker >/dev/null 2>&1 || true`,
  });
  return { steps, reload: !(unchanged && facts.dropInLoaded) };
}

/**
 * With live-restore on (the drop-in sets it), containers keep running through this. Stop, then
 * start, not restart: while the unit is still starting (a host just booted), systemd turns a
 * restart into the start already under way, which keeps the old command line and our drop-in
 * would not apply. Without the daemon-reload, reset-failed clears the unit's start counter as the
 * reload did: docker.service allows 3 starts in 60 s, and create, regenerate-certs and provision
 * in a row would hit that limit. Its failure says so with the last lines of the engine's journal.
 */
export function restartStep(ctx: ProvisionContext, sudo: string, reload = true): BatchStep {
  const stop = `${sudo}systemctl stop docker`;
  const start = `${sudo}systemctl start docker`;
  return {
    cmd: reload
      ? `${sudo}systemctl daemon-reload && ${stop} && ${start}`
      : `${stop} && ${sudo}systemctl reset-failed docker && ${start}`,
    async failure(r) {
      const journal = await ctx.ssh.run(`${sudo}journalctl -u docker --no-pager -n 15 2>&1`);
      return new MachineError(
        `restarting docker failed: ${(r.stderr || r.stdout).trim()}\nlast lines of its journal:\n${journal.stdout.trim()}`,
      );
    },
  };
}
