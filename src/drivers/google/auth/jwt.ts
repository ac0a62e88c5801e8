import { sign } from 'node:crypto';
import type { ServiceAccountKey } from './key-file.js';

/** Grant type of a service account's signed assertion (RFC 7523). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Google accepts an assertion for at most an hour. */
const LIFETIME_S = 3600;

/**
 * The signed JWT a service account exchanges for an access token: RS256 over
 * {iss: client_email, scope, aud: token_uri, iat, exp}, with the key's id in the header so that
 * Google picks the right public key. `nowS` is the current time in seconds.
 */
export function signedAssertion(key: ServiceAccountKey, scopes: string[], nowS: number): string {
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (key.privateKeyId) header.kid = key.privateKeyId;
  const claims = {
    iss: key.clientEmail,
    scope: scopes.join(' '),
    aud: key.tokenUri,
    iat: nowS,
    exp: nowS + LIFETIME_S,
  };
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('RSA-SHA256', Buffer.from(unsigned), key.privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
