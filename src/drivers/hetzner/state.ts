import type { MachineState } from '../driver.js';

/**
 * Server status to machine state (spec §7.2). The plugin maps only initializing, running and off;
 * starting and stopping are named here as what they are.
 */
export function machineState(status: string): MachineState {
  switch (status) {
    case 'initializing':
    case 'starting':
      return 'Starting';
    case 'running':
      return 'Running';
    case 'stopping':
      return 'Stopping';
    case 'off':
      return 'Stopped';
    default:
      return '';
  }
}

/**
 * Why Hetzner Cloud would refuse a server name ('' when it takes it): a hostname as RFC 1123 has
 * it, labels of 1-63 letters, digits and inner hyphens, 253 characters in all.
 */
export function serverNameProblem(name: string): string {
  if (name.length > 253) return 'it is longer than 253 characters';
  for (const label of name.split('.')) {
    if (label.length === 0) return 'it has an empty label';
    if (label.length > 63) return `a label (${label.slice(0, 12)}...) is longer than 63 characters`;
    if (!/^[a-zA-Z0-9-]+$/.test(label)) return 'only letters, digits, . and - are allowed';
    if (label.startsWith('-') || label.endsWith('-')) return 'a label may not start or end with -';
  }
  return '';
}

const LABEL_VALUE = /^(|[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])$/;
const LABEL_PREFIX = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** key=value pairs as Hetzner Cloud takes labels; the problem with the first bad one, or ''. */
export function parseLabels(
  pairs: string[],
  flag: string,
): { labels: Record<string, string>; problem: string } {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const key = i < 0 ? pair : pair.slice(0, i);
    const value = i < 0 ? '' : pair.slice(i + 1);
    const slash = key.lastIndexOf('/');
    const name = slash < 0 ? key : key.slice(slash + 1);
    const prefix = slash < 0 ? '' : key.slice(0, slash);
    if (!name || !LABEL_VALUE.test(name) || (slash >= 0 && !LABEL_PREFIX.test(prefix))) {
      return {
        labels,
        problem: `--${flag} ${pair}: "${key}" is not a label key Hetzner Cloud takes (letters, digits, -, _ and ., at most 63, with an optional DNS-name prefix/)`,
      };
    }
    if (!LABEL_VALUE.test(value)) {
      return {
        labels,
        problem: `--${flag} ${pair}: "${value}" is not a label value Hetzner Cloud takes (letters, digits, -, _ and ., at most 63, starting and ending alphanumeric)`,
      };
    }
    labels[key] = value;
  }
  return { labels, problem: '' };
}
