import { homedir } from 'node:os';
import { join } from '../runtime/path.js';

/** $MACHINE_STORAGE_PATH, else ~/.docker/machine (the original's default). */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MACHINE_STORAGE_PATH) return env.MACHINE_STORAGE_PATH;
  return join(env.HOME || homedir(), '.docker', 'machine');
}
