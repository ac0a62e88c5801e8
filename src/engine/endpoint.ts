import type { SSHTarget } from '../ssh/client.js';
import type { EngineEndpointKind, HostConfig } from '../store/host.js';

/** How clients reach the machine's engine; a config without the field (the original's) is tcp. */
export function engineEndpointKind(config: HostConfig): EngineEndpointKind {
  return config.HostOptions.EngineOptions?.EngineEndpoint === 'ssh' ? 'ssh' : 'tcp';
}

export function isSSHEngine(config: HostConfig): boolean {
  return engineEndpointKind(config) === 'ssh';
}

/** The docker CLI's form of an SSH engine: ssh://USER@HOST:PORT, an IPv6 host in brackets. */
export function sshEngineURL(t: Pick<SSHTarget, 'user' | 'host' | 'port'>): string {
  const host = t.host.includes(':') && !t.host.startsWith('[') ? `[${t.host}]` : t.host;
  return `ssh://${t.user}@${host}:${t.port}`;
}

export function isSSHURL(url: string): boolean {
  return url.startsWith('ssh://');
}
