import { createPrivateKey, type KeyObject } from 'node:crypto';
import { MachineError } from '../../../errors.js';

/** Google's token endpoint, for files that name none (gcloud's authorized_user files). */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** A service-account key as the Cloud console downloads it (the fields used here). */
export interface ServiceAccountKey {
  type: 'service_account';
  clientEmail: string;
  privateKey: KeyObject;
  /** The PEM text, kept only to register it as a secret with the debug log. */
  privateKeyPem: string;
  privateKeyId: string;
  tokenUri: string;
  projectId?: string;
}

/** A user's refresh token, as `gcloud auth application-default login` writes it. */
export interface AuthorizedUser {
  type: 'authorized_user';
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  tokenUri: string;
}

export type CredentialFile = ServiceAccountKey | AuthorizedUser;

/**
 * The credential in a key file's text. `where` names the file (or the flag) in the one-line error
 * a bad file gives; the error never quotes the file's contents, which hold the key.
 */
export function parseCredentialJSON(text: string, where: string): CredentialFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MachineError(`${where} is not JSON; give a service-account key or an authorized_user file`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new MachineError(
      `${where} is not a JSON object; give a service-account key or an authorized_user file`,
    );
  }
  const d = doc as Record<string, unknown>;
  const field = (name: string): string => (typeof d[name] === 'string' ? (d[name] as string) : '');
  const need = (names: string[]): void => {
    const missing = names.filter((n) => field(n) === '');
    if (missing.length) {
      const again =
        d.type === 'service_account'
          ? 'create a new key for the service account'
          : 'run `gcloud auth application-default login` again';
      throw new MachineError(`${where} has no ${missing.join(', ')}; ${again}`);
    }
  };
  const tokenUri = (): string => {
    const uri = field('token_uri') || GOOGLE_TOKEN_URI;
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      throw new MachineError(`${where} has a token_uri that is not a URL`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new MachineError(`${where} has a token_uri that is not an http(s) URL`);
    }
    return uri;
  };
  switch (d.type) {
    case 'service_account': {
      need(['client_email', 'private_key']);
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey(field('private_key'));
      } catch {
        throw new MachineError(
          `${where}: its private_key is not a PEM private key; download a new key for ${field('client_email')}`,
        );
      }
      if (privateKey.asymmetricKeyType !== 'rsa') {
        throw new MachineError(`${where}: its private_key is not an RSA key, which Google's keys are`);
      }
      return {
        type: 'service_account',
        clientEmail: field('client_email'),
        privateKey,
        privateKeyPem: field('private_key'),
        privateKeyId: field('private_key_id'),
        tokenUri: tokenUri(),
        projectId: field('project_id') || undefined,
      };
    }
    case 'authorized_user':
      need(['client_id', 'client_secret', 'refresh_token']);
      return {
        type: 'authorized_user',
        clientId: field('client_id'),
        clientSecret: field('client_secret'),
        refreshToken: field('refresh_token'),
        tokenUri: tokenUri(),
      };
    case undefined:
      throw new MachineError(
        `${where} has no "type"; give a service-account key (type service_account) or an authorized_user file`,
      );
    default:
      throw new MachineError(
        `${where} is of type ${JSON.stringify(String(d.type)).slice(0, 60)}, which this driver does not support; use a service-account key (type service_account) or gcloud's application-default login (authorized_user)`,
      );
  }
}
