/**
 * The end of a PEM certificate's validity (ms since the epoch), read straight from its DER: the
 * commands that run many times a day (env, config) check it on every run, and node:crypto's
 * X509Certificate costs half a millisecond for the first parse, this a few microseconds.
 * Undefined when the text is not a certificate of the usual shape; callers then have no date
 * to warn about, and the TLS check decides as before.
 */
export function certNotAfter(pem: Buffer | string): number | undefined {
  const buf = typeof pem === 'string' ? Buffer.from(pem, 'latin1') : pem;
  const begin = buf.indexOf(BEGIN);
  const end = begin < 0 ? -1 : buf.indexOf(END, begin);
  if (end < 0) return undefined;
  // Node's base64 decoder skips the line breaks. (No regular expressions here: their first use
  // costs more than the rest of this together.)
  const der = Buffer.from(buf.toString('latin1', begin + BEGIN.length, end), 'base64');
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

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

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
  const yearDigits = h.tag === 0x17 ? 2 : h.tag === 0x18 ? 4 : 0;
  if (yearDigits === 0 || h.end - h.start !== yearDigits + 11 || b[h.end - 1] !== 0x5a /* Z */)
    throw new Error('bad time');
  let at = h.start;
  const digits = (n: number) => {
    let v = 0;
    for (const end = at + n; at < end; at++) {
      const d = b[at] - 0x30;
      if (d < 0 || d > 9) throw new Error('bad time');
      v = v * 10 + d;
    }
    return v;
  };
  let year = digits(yearDigits);
  if (yearDigits === 2) year += year < 50 ? 2000 : 1900;
  const mo = digits(2);
  const d = digits(2);
  const hh = digits(2);
  const mm = digits(2);
  const ss = digits(2);
  return Date.UTC(year, mo - 1, d, hh, mm, ss);
}
