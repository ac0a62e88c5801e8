import { readFile } from 'node:fs/promises';
import { errorMessage, MachineError } from '../errors.js';

export interface TLSFiles {
  caCertPath: string;
  clientCertPath: string;
  clientKeyPath: string;
}

export interface TLSMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export async function readTLSConfig(files: TLSFiles): Promise<TLSMaterial> {
  try {
    const [ca, cert, key] = await Promise.all([
      readFile(files.caCertPath),
      readFile(files.clientCertPath),
      readFile(files.clientKeyPath),
    ]);
    return { ca, cert, key };
  } catch (err) {
    throw new MachineError(`Unable to read TLS config: ${errorMessage(err)}`, { cause: err });
  }
}
