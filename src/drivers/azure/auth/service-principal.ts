import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { addSecret } from '../../../debug.js';
import { fsError, MachineError } from '../../../errors.js';
import { type AADContext, requestToken, type TokenResult } from './aad.js';

/**
 * A service principal's sign-in (the client credentials grant): with its secret, or with a
 * certificate whose private key signs a short-lived assertion (a JWT, RS256) that names the
 * certificate by its thumbprints (x5t#S256 and x5t headers).
 */
export function withSecret(c: AADContext, clientId: string, secret: string): () => Promise<TokenResult> {
  addSecret(secret);
  return () =>
    requestToken(c, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope: c.cloud.armScope,
    });
}

export interface ClientCertificate {
  key: KeyObject;
  /** The leaf certificate's DER: what Azure AD's thumbprints are taken of. */
  der: Buffer;
}

/**
 * The private key and the certificate of a PEM file holding both (what "az ad sp create-for-rbac
 * --create-cert" writes). The key may be encrypted with AZURE_CLIENT_CERTIFICATE_PASSWORD.
 */
export async function loadClientCertificate(path: string, password?: string): Promise<ClientCertificate> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw fsError('reading the client certificate', path, err);
  }
  const certBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const keyBlock =
    /-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----/.exec(
      pem,
    )?.[0];
  if (!certBlock || !keyBlock) {
    throw new MachineError(
      `client certificate ${path} must be a PEM file with both the certificate and its private key (missing the ${certBlock ? 'private key' : 'certificate'}); join them with "cat cert.pem key.pem"`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyBlock, passphrase: password || undefined });
  } catch {
    throw new MachineError(
      /ENCRYPTED/.test(keyBlock)
        ? `the private key in ${path} is encrypted and ${password ? 'AZURE_CLIENT_CERTIFICATE_PASSWORD does not open it' : 'no AZURE_CLIENT_CERTIFICATE_PASSWORD was given'}`
        : `the private key in ${path} could not be read; give an unencrypted PEM private key`,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certBlock);
  } catch {
    throw new MachineError(`the certificate in ${path} could not be read; give a PEM X.509 certificate`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new MachineError(
      `the private key in ${path} is ${key.asymmetricKeyType}; Azure AD signs in with RSA keys only`,
    );
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) {
    throw new MachineError(
      `the private key in ${path} is not the key of the certificate in it; give the matching pair`,
    );
  }
  if (Date.parse(cert.validTo) < Date.now()) {
    throw new MachineError(
      `the certificate in ${path} expired on ${new Date(cert.validTo).toISOString()}; make a new one ("az ad sp credential reset --create-cert")`,
    );
  }
  return { key, der: cert.raw };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The signed assertion for one token request, valid for ten minutes. */
export function clientAssertion(
  cert: ClientCertificate,
  clientId: string,
  audience: string,
  now = Date.now(),
): string {
  const header = {
    alg: 'RS256',
    typ: 'JWT',
    'x5t#S256': b64url(createHash('sha256').update(cert.der).digest()),
    x5t: b64url(createHash('sha1').update(cert.der).digest()),
  };
  const iat = Math.floor(now / 1000);
  const claims = {
    aud: audience,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    iat,
    nbf: iat,
    exp: iat + 600,
  };
  const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('RSA-SHA256', Buffer.from(signing), cert.key);
  const jwt = `${signing}.${b64url(signature)}`;
  addSecret(jwt);
  return jwt;
}

export function withCertificate(
  c: AADContext,
  clientId: string,
  cert: ClientCertificate,
): () => Promise<TokenResult> {
  const audience = `${c.cloud.authorityHost}${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`;
  return () =>
    requestToken(c, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion(cert, clientId, audience),
      scope: c.cloud.armScope,
    });
}
