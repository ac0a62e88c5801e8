import { debug } from '../debug.js';
import { errorMessage, fsError, MachineError } from '../errors.js';
import { readFileSync } from '../runtime/fs.js';

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
  // Three small files, read at once: cheaper than the promise API's file handles.
  const read = (what: string, path: string) => {
    debug(`Reading ${what} from ${path}`);
    try {
      return readFileSync(path);
    } catch (err) {
      throw fsError('reading', path, err);
    }
  };
  try {
    return {
      ca: read('CA certificate', files.caCertPath),
      cert: read('client certificate', files.clientCertPath),
      key: read('client key', files.clientKeyPath),
    };
  } catch (err) {
    throw new MachineError(`Unable to read TLS config: ${errorMessage(err)}`, { cause: err });
  }
}
