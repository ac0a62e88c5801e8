/**
 * The end of a PEM certificate's validity (ms since the epoch), read straight from its DER: the
 * commands that run many times a day (env, config) check it on every run, and node:crypto's
 * X509Certificate costs half a millisecond for the first parse, this a few microseconds.
 * Undefined when the text is not a certificate of the usual shape; callers then have no date
 * to warn about, and the TLS check decides as before.
 */
export function certNotAfter(pem: Buffer | string): number | undefined {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  if (!m) return undefined;
  const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  try {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature,
    // issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }
    let p = enter(der, 0, 0x30);
    p = enter(der, p, 0x30);
    if (der[p] === 0xa0) p = skip(der, p);
    p = skip(der, p); // serialNumber
    p = skip(der, p); // signature algorithm
    p = skip(der, p); // issuer
    p = enter(der, p, 0x30); // validity
    p = skip(der, p); // notBefore
    return readTime(der, p);
  } catch {
    return undefined;
  }
}

interface Header {
  tag: number;
  start: number;
  end: number;
}

function header(b: Buffer, p: number): Header {
  const tag = b[p];
  let len = b[p + 1];
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  if (tag === undefined || start + len > b.length) throw new Error('truncated');
  return { tag, start, end: start + len };
}

function enter(b: Buffer, p: number, tag: number): number {
  const h = header(b, p);
  if (h.tag !== tag) throw new Error('unexpected tag');
  return h.start;
}

function skip(b: Buffer, p: number): number {
  return header(b, p).end;
}

/** UTCTime (YYMMDDHHMMSSZ, 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
function readTime(b: Buffer, p: number): number {
  const h = header(b, p);
  const s = b.toString('latin1', h.start, h.end);
  const t = h.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  const g = h.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  const parts = t ?? g;
  if (!parts) throw new Error('bad time');
  let year = Number(parts[1]);
  if (t) year += year < 50 ? 2000 : 1900;
  const [mo, d, hh, mm, ss] = parts.slice(2).map(Number);
  return Date.UTC(year, mo - 1, d, hh, mm, ss);
}
