import { goQuote } from '../errors.js';
import { ipVersion } from '../ip.js';
import type { FlagCheck } from './def.js';

/**
 * Value checks for flag definitions (FlagDef.check). Each returns undefined for a good value and
 * otherwise says what a good value looks like, so that a bad one is refused when the command line
 * is read, before anything is made, instead of failing later with another program's words.
 */

/** The largest --wait-timeout: a longer wait would overflow Node's timers (2^31-1 ms). */
export const MAX_WAIT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** An integer within [min, max]; `what` names the unit ("a TCP port", "MB of memory"). */
export function intRange(min: number, max: number, what: string, zero?: string): FlagCheck {
  return (v) => {
    if (typeof v !== 'number') return undefined;
    if (zero !== undefined && v === 0) return undefined;
    if (Number.isInteger(v) && v >= min && v <= max) return undefined;
    return `expected ${what}, ${min}-${max}${zero !== undefined ? ` (0: ${zero})` : ''}`;
  };
}

/** A TCP port the machine listens on: 1-65535. */
export const tcpPort: FlagCheck = intRange(1, 65535, 'a TCP port');

/** A TCP port on this computer, where 0 asks for a free one. */
export function tcpPortOrFree(): FlagCheck {
  return intRange(1, 65535, 'a TCP port', 'a free one');
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = (s.endsWith('.') ? s.slice(0, -1) : s).split('.');
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  // All digits and dots is meant as an IPv4 address: then it must be one.
  return !/^[0-9.]+$/.test(s);
}

/** A host name or an IP address (IPv6 without brackets), as SSH and TLS take it. */
export const hostOrIP: FlagCheck = (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  if (ipVersion(v) !== 0 || isHostname(v)) return undefined;
  if (/^\[.*\]$/.test(v) && ipVersion(v.slice(1, -1)) === 6) {
    return 'expected an IP address or a host name; give an IPv6 address without brackets';
  }
  return 'expected an IP address (e.g. 192.0.2.10, 2001:db8::1) or a host name (letters, digits, - and .)';
};

/** A login name as SSH passes it: no spaces, no leading '-', none of the characters ssh splits on. */
export const sshUser: FlagCheck = (v) => {
  if (typeof v !== 'string') return undefined;
  if (/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}\$?$/.test(v)) return undefined;
  return 'expected a user name on the machine (letters, digits, . _ -), e.g. root';
};

/**
 * An engine URL the client can dial: tcp://HOST:PORT, HOST a name or an IPv4 address, or an
 * IPv6 address in brackets. The port may be left out (the TLS port, 2376, as the docker client
 * does with TLS).
 */
export const engineURL: FlagCheck = (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  const problem = engineURLProblem(v);
  return problem === undefined
    ? undefined
    : `${problem}; expected tcp://HOST:PORT, e.g. tcp://192.0.2.10:2376 or, for IPv6, tcp://[::1]:2376`;
};

/** What is wrong with a tcp:// URL, or undefined. */
export function engineURLProblem(v: string): string | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(v);
  if (/[\s\x00-\x1f\x7f]/.test(v)) return 'a space or a control character in the URL';
  if (!m) return 'not a URL';
  if (m[1] !== 'tcp') return `the scheme is ${m[1]}, not tcp`;
  let rest = m[2];
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') return 'no host';
  if (/[/?#@]/.test(rest)) return 'a path, query or user in the URL';
  let host: string;
  let port: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) return 'an unclosed [';
    host = rest.slice(1, end);
    if (ipVersion(host) !== 6) return `[${host.slice(0, 60)}] is not an IPv6 address`;
    const after = rest.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `unexpected ${showValue(after)} after the address`;
      port = after.slice(1);
    }
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1) {
      return ipVersion(rest) === 6 || ipVersion(rest.slice(0, rest.lastIndexOf(':'))) === 6
        ? 'an IPv6 address must be in brackets'
        : 'more than one ":"';
    }
    const c = rest.indexOf(':');
    host = c < 0 ? rest : rest.slice(0, c);
    port = c < 0 ? undefined : rest.slice(c + 1);
    if (host === '') return 'no host';
    if (ipVersion(host) === 0 && !isHostname(host)) {
      return `${showValue(host)} is not a host name or an IP address`;
    }
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `the port ${showValue(port)} is not 1-65535`;
  }
  return undefined;
}

/** One of a fixed set of words. */
export function oneOf(words: readonly string[]): FlagCheck {
  return (v) =>
    typeof v !== 'string' || words.includes(v) ? undefined : `expected one of ${words.join(', ')}`;
}

/** A text matched by `re` in full; `expected` says what that is. */
export function matching(re: RegExp, expected: string): FlagCheck {
  return (v) => (typeof v !== 'string' || v === '' || re.test(v) ? undefined : `expected ${expected}`);
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** Any text on one line: a newline would split a line of a file the value is written into. */
export const oneLine: FlagCheck = (v) =>
  typeof v === 'string' && CONTROL.test(v)
    ? 'expected one line, without newlines or control characters'
    : undefined;

/** Several checks in order; the first complaint wins. */
export function all(...checks: FlagCheck[]): FlagCheck {
  return (v) => {
    for (const c of checks) {
      const problem = c(v);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

/** A dockerd option for --engine-opt: NAME or NAME=VALUE, without the leading dashes. */
export const engineOpt: FlagCheck = all(oneLine, (v) => {
  if (typeof v !== 'string') return undefined;
  if (/^-/.test(v)) return 'expected NAME=VALUE without the leading dashes, e.g. log-level=debug';
  return /^[A-Za-z][A-Za-z0-9.-]*(=.*)?$/s.test(v)
    ? undefined
    : 'expected a dockerd option as NAME or NAME=VALUE, e.g. log-level=debug';
});

/** An engine label: KEY=VALUE (dockerd refuses a label without '='). */
export const engineLabel: FlagCheck = all(oneLine, (v) =>
  typeof v !== 'string' || /^[^=\s]+=/.test(v) ? undefined : 'expected KEY=VALUE, e.g. env=staging',
);

/** A registry mirror: an http(s) URL (dockerd refuses others at start). */
export const registryMirror: FlagCheck = all(oneLine, (v) =>
  typeof v !== 'string' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(v)
    ? undefined
    : 'expected an http:// or https:// URL, e.g. https://mirror.example.com',
);

/** An insecure registry: HOST[:PORT] or a CIDR, never a URL (dockerd refuses '://'). */
export const insecureRegistry: FlagCheck = all(oneLine, (v) => {
  if (typeof v !== 'string') return undefined;
  if (v.includes('://'))
    return 'expected HOST[:PORT] or a CIDR without a scheme, e.g. registry.example.com:5000';
  return /^[^\s/]+(\/[0-9]{1,3})?$/.test(v)
    ? undefined
    : 'expected HOST[:PORT] or a CIDR, e.g. registry.example.com:5000 or 10.0.0.0/8';
});

/** A storage driver's name, e.g. overlay2. */
export const storageDriver: FlagCheck = matching(
  /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  'a storage driver name, e.g. overlay2',
);

/** A name or address the server certificate also holds: an IP, a host name, or *.DOMAIN. */
export const certSAN: FlagCheck = (v) => {
  if (typeof v !== 'string') return undefined;
  if (ipVersion(v) !== 0 || isHostname(v.startsWith('*.') ? v.slice(2) : v)) return undefined;
  return 'expected an IP address or a host name (*.DOMAIN for a wildcard)';
};

/** The engine install script's URL ('' for none: the distribution's packages). */
export const installURL: FlagCheck = all(oneLine, (v) =>
  typeof v !== 'string' || v === '' || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/.test(v)
    ? undefined
    : 'expected a URL, e.g. https://get.docker.com',
);

/** The engine a docker-driver machine runs on: unix:///PATH or tcp://HOST[:PORT]. */
export const dockerHost: FlagCheck = (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  const form = 'expected unix:///PATH or tcp://HOST:PORT (an IPv6 address in brackets)';
  if (v.startsWith('unix://')) {
    return /^unix:\/\/\/[^\x00-\x1f\x7f]*$/.test(v)
      ? undefined
      : `a unix socket needs an absolute path; ${form}`;
  }
  const problem = engineURLProblem(v);
  return problem === undefined ? undefined : `${problem}; ${form}`;
};

/** Values this long are cut in messages: the message must stay one readable line. */
const SHOWN = 120;

/** A value as an error message shows it: Go-quoted, cut after SHOWN characters. */
export function showValue(v: string): string {
  const chars = [...v];
  return chars.length <= SHOWN
    ? goQuote(v)
    : `${goQuote(chars.slice(0, SHOWN).join(''))}... (${chars.length} characters)`;
}

/** --engine-endpoint: the engine's TLS port, or the machine's SSH only. */
export const engineEndpoint: FlagCheck = (v) =>
  typeof v === 'string' && v !== 'tcp' && v !== 'ssh' ? 'expected tcp or ssh' : undefined;
