import { createHash, type KeyObject, randomBytes, sign } from 'node:crypto';
import { ipVersion } from '../ip.js';
import * as der from './der.js';

/** X.509 v3 certificates as the original's generator makes them (spec §4.2), signed SHA256withRSA. */

export const KeyUsage = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyAgreement: 4,
  certSign: 5,
} as const;

export interface CertTemplate {
  organization: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  keyUsage: number[];
  extKeyUsage: ('serverAuth' | 'clientAuth')[];
  /** DNS names and IP addresses, in order. */
  hosts: string[];
  publicKey: KeyObject;
}

export interface Issuer {
  organization: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const OID = {
  organization: '2.5.4.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

const name = (org: string) =>
  der.sequence(der.set(der.sequence(der.oid(OID.organization), der.directoryString(org))));

const extension = (id: string, critical: boolean, value: Buffer) =>
  der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));

function keyUsageBits(bits: number[]): Buffer {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  const used = Math.max(...bits) + 1;
  return der.bitString(Buffer.from([v]), 8 - used);
}

/** SHA-1 of the subjectPublicKey bits, as Go computes the key identifier. */
function keyId(pub: KeyObject): Buffer {
  const spki = pub.export({ type: 'pkcs1', format: 'der' });
  return createHash('sha1').update(spki).digest();
}

function ipBytes(ip: string): Buffer {
  if (ipVersion(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  let groups = [...part(head), ...part(tail)];
  if (ip.includes('::')) {
    const fill = Array(8 - groups.length).fill('0');
    groups = [...part(head), ...fill, ...part(tail)];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

export function createCertificate(t: CertTemplate, issuer: Issuer): string {
  const serial = der.unsignedInteger(randomBytes(16));
  const algorithm = der.sequence(der.oid(OID.sha256WithRSA), der.nullValue());
  const exts: Buffer[] = [extension(OID.keyUsage, true, keyUsageBits(t.keyUsage))];
  if (t.extKeyUsage.length > 0) {
    exts.push(extension(OID.extKeyUsage, false, der.sequence(...t.extKeyUsage.map((u) => der.oid(OID[u])))));
  }
  exts.push(extension(OID.basicConstraints, true, t.isCA ? der.sequence(der.boolean(true)) : der.sequence()));
  if (t.isCA) exts.push(extension(OID.subjectKeyId, false, der.octetString(keyId(t.publicKey))));
  exts.push(extension(OID.authorityKeyId, false, der.sequence(der.implicit(0, keyId(issuer.publicKey)))));
  if (t.hosts.length > 0) {
    const names = t.hosts.map((h) =>
      ipVersion(h) ? der.implicit(7, ipBytes(h)) : der.implicit(2, Buffer.from(h, 'latin1')),
    );
    exts.push(extension(OID.subjectAltName, false, der.sequence(...names)));
  }
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    serial,
    algorithm,
    name(issuer.organization),
    der.sequence(der.time(t.notBefore), der.time(t.notAfter)),
    name(t.organization),
    t.publicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.sequence(...exts)),
  );
  const signature = sign('sha256', tbs, issuer.privateKey);
  const cert = der.sequence(tbs, algorithm, der.bitString(signature));
  const b64 = cert
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** The original's validity: now truncated to the minute, minus five minutes, for 1080 days. */
export function validity(now = new Date(), days = 1080): { notBefore: Date; notAfter: Date } {
  const nb = new Date(now);
  nb.setSeconds(0, 0);
  nb.setMinutes(nb.getMinutes() - 5);
  return { notBefore: nb, notAfter: new Date(nb.getTime() + days * 86_400_000) };
}
