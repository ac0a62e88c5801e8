import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SigningCredentials } from './sigv4.js';

/**
 * AWS credentials, in the order the original's SDK looked for them: the keys given by flag (or
 * their variables, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then the shared credentials
 * file's profile, then the config file's (AWS_PROFILE, else "default"). No instance-role lookup:
 * nothing here ever asks the instance metadata address. Keys are never printed.
 */
export interface ResolvedCredentials extends SigningCredentials {
  /** Where they came from, for a debug line ("profile work in ~/.aws/credentials"). */
  source: string;
}

export function resolveCredentials(
  given: { accessKey: string; secretKey: string; sessionToken: string },
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCredentials | undefined {
  if (given.accessKey && given.secretKey) {
    return {
      accessKeyId: given.accessKey,
      secretAccessKey: given.secretKey,
      sessionToken: given.sessionToken || undefined,
      source: 'the --amazonec2-access-key and --amazonec2-secret-key options',
    };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
      source: 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    };
  }
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  const home = env.HOME || homedir();
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const fromCred = iniSection(credFile, profile);
  // The config file names its sections "profile NAME", except the default one.
  const fromConfig =
    iniSection(configFile, `profile ${profile}`) ??
    (profile === 'default' ? iniSection(configFile, profile) : undefined);
  for (const [s, file] of [
    [fromCred, credFile],
    [fromConfig, configFile],
  ] as const) {
    if (s?.aws_access_key_id && s.aws_secret_access_key) {
      return {
        accessKeyId: s.aws_access_key_id,
        secretAccessKey: s.aws_secret_access_key,
        sessionToken: s.aws_session_token || undefined,
        source: `profile ${profile} in ${file}`,
      };
    }
  }
  return undefined;
}

/** The key = value pairs of one [section] of an INI file; undefined when the file or section is absent. */
export function iniSection(file: string, section: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (head) {
      current = head[1].replace(/\s+/g, ' ');
      if (current === section) found ??= {};
      continue;
    }
    if (current !== section || !found) continue;
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv) found[kv[1].toLowerCase()] = kv[2].replace(/\s+[#;].*$/, '');
  }
  return found;
}
