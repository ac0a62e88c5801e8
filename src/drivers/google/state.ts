import type { MachineState } from '../driver.js';

/** Instance status to machine state (clouds.md §2.2). */
export function machineState(status: string): MachineState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
      return 'Starting';
    case 'RUNNING':
      return 'Running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'Stopping';
    case 'STOPPED':
    case 'TERMINATED':
      return 'Stopped';
    default:
      // SUSPENDED, REPAIRING: none of ours.
      return '';
  }
}

const RFC1035 = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why Compute Engine would refuse an instance name ('' when it takes it). */
export function instanceNameProblem(name: string): string {
  if (RFC1035.test(name)) return '';
  return 'an instance name is 1-63 lower-case letters, digits and -, starting with a letter and not ending with -';
}

/** --google-tags: network tags, comma-separated; the problem with the first bad one. */
export function parseTags(value: string): { tags: string[]; problem: string } {
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = tags.find((t) => !RFC1035.test(t));
  return {
    tags,
    problem: bad
      ? `--google-tags ${value}: "${bad}" is not a network tag Compute Engine takes (1-63 lower-case letters, digits and -, starting with a letter)`
      : '',
  };
}

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

/**
 * Labels as Rancher (--google-vm-labels key:value, comma-separated) and GitLab (--google-label
 * key=value) take them; the problem with the first one Compute Engine would refuse.
 */
export function parseLabels(
  pairs: string[],
  flag: string,
  into: Record<string, string> = {},
): { labels: Record<string, string>; problem: string } {
  const labels = into;
  for (const pair of pairs.flatMap((p) => p.split(',')).map((p) => p.trim())) {
    if (!pair) continue;
    const i = pair.search(/[=:]/);
    const key = i < 0 ? pair : pair.slice(0, i);
    const value = i < 0 ? '' : pair.slice(i + 1);
    if (!LABEL_KEY.test(key))
      return {
        labels,
        problem: `--${flag} ${pair}: "${key}" is not a label key Compute Engine takes (lower-case letters, digits, _ and -, starting with a letter, at most 63)`,
      };
    if (!LABEL_VALUE.test(value))
      return {
        labels,
        problem: `--${flag} ${pair}: "${value}" is not a label value Compute Engine takes (lower-case letters, digits, _ and -, at most 63)`,
      };
    labels[key] = value;
  }
  return { labels, problem: '' };
}

/** key=value pairs (--google-metadata, --google-metadata-from-file). */
export function parsePairs(pairs: string[], flag: string): { pairs: [string, string][]; problem: string } {
  const out: [string, string][] = [];
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const key = i < 0 ? '' : pair.slice(0, i).trim();
    if (!/^[a-zA-Z0-9_-]{1,128}$/.test(key))
      return {
        pairs: out,
        problem: `--${flag} ${pair}: expected KEY=VALUE with a key of letters, digits, _ and - (at most 128)`,
      };
    out.push([key, pair.slice(i + 1)]);
  }
  return { pairs: out, problem: '' };
}

/** --google-open-port: PORT, FROM-TO, each with an optional /tcp or /udp; '' when good. */
export function openPortProblem(v: string): string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp))?$/.exec(v);
  const ok = (n: string | undefined) => n === undefined || (Number(n) >= 1 && Number(n) <= 65535);
  if (!m || !ok(m[1]) || !ok(m[2]) || (m[2] !== undefined && Number(m[2]) < Number(m[1])))
    return `--google-open-port ${v}: expected PORT, PORT/tcp, PORT/udp or FROM-TO[/PROTO], ports 1-65535`;
  return '';
}

/** --google-accelerator type=TYPE,count=N (GitLab's form). */
export function parseAccelerator(v: string): { type: string; count: number } | string {
  if (!v) return { type: '', count: 0 };
  let type = '';
  let count = 1;
  for (const part of v.split(',').map((p) => p.trim())) {
    const [k, val = ''] = part.split('=');
    if (k === 'type' && /^[a-z][-a-z0-9]*$/.test(val)) type = val;
    else if (k === 'count' && /^[1-9]\d?$/.test(val)) count = Number(val);
    else return `--google-accelerator ${v}: expected type=TYPE,count=N (e.g. type=nvidia-tesla-t4,count=1)`;
  }
  if (!type) return `--google-accelerator ${v}: the type is missing (type=TYPE,count=N)`;
  return { type, count };
}

/** The region of a zone: us-central1-a → us-central1. */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}
