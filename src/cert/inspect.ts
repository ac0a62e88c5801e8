import { X509Certificate } from 'node:crypto';
import { MachineError } from '../errors.js';
import { ipVersion } from '../ip.js';

export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  organization: string;
  serialHex: string;
}

export function readCertInfo(pem: string | Buffer): CertInfo {
  let c: X509Certificate;
  try {
    c = new X509Certificate(pem);
  } catch {
    throw new MachineError('Failed to decode PEM data');
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const entry of (c.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11));
  }
  const org = /(?:^|\n)O=(.*)/.exec(c.subject)?.[1] ?? '';
  return {
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    dnsNames,
    ipAddresses,
    organization: org,
    serialHex: c.serialNumber,
  };
}

function normalizeIP(ip: string): string {
  if (ipVersion(ip) !== 6) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const groups = ip.includes('::')
    ? [...part(head), ...Array(8 - part(head).length - part(tail).length).fill('0'), ...part(tail)]
    : part(head);
  return groups.map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

/** Whether a server certificate is valid for this host name or address. */
export function certCoversHost(info: CertInfo, host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (ipVersion(h)) return info.ipAddresses.some((ip) => normalizeIP(ip) === normalizeIP(h));
  return info.dnsNames.some((d) => d.toLowerCase() === h.toLowerCase());
}

export function certExpiresWithin(info: CertInfo, ms: number, now = new Date()): boolean {
  return info.notAfter.getTime() - now.getTime() < ms;
}
