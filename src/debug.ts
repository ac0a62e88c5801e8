/**
 * The debug log (--debug/-D, MACHINE_DEBUG): lines on stderr for the commands run over SSH, the
 * requests to engines, the driver calls and how long each took. Modules call debug() wherever
 * they are; with debug off it returns at once, and this module imports nothing, so light
 * commands pay nothing for it.
 *
 * Secrets never reach the log: private keys (PEM blocks), Authorization and auth-token headers,
 * passwords in URLs, and every value registered with addSecret (the token flags) are replaced by <REDACTED> in
 * every line, as the original redacted its log history.
 */

let sink: ((line: string) => void) | undefined;
const secrets = new Set<string>();

/** Turn the log on (a writer of one line) or off (undefined). */
export function setDebugSink(write: ((line: string) => void) | undefined): void {
  sink = write;
}

export function debugEnabled(): boolean {
  return sink !== undefined;
}

/** One debug line (a function is called only when debug is on: for lines that cost to build). */
export function debug(line: string | (() => string)): void {
  if (!sink) return;
  sink(redact(typeof line === 'function' ? line() : line));
}

/** A value that must never be printed (a token, a password). Short values would redact too much. */
export function addSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
const AUTH_HEADER =
  /\b(authorization|proxy-authorization|x-registry-auth|x-auth-token|private-token)(["']?\s*[:=]\s*["']?)[^\r\n"']*/gi;

/** user:password@ in a URL. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi;

export function redact(text: string): string {
  let out = text
    .replace(PRIVATE_KEY, '<REDACTED>')
    .replace(AUTH_HEADER, '$1$2<REDACTED>')
    .replace(URL_PASSWORD, '$1<REDACTED>@');
  for (const s of secrets) out = out.split(s).join('<REDACTED>');
  return out;
}

/** Names of flags whose values are secrets: tokens, passwords, secret and access keys, key JSON. */
export function isSecretFlag(name: string): boolean {
  return /token|secret|password|passwd|access-key|api-key|credential|encoded-json/i.test(name);
}

/** Milliseconds since `started`, as the log prints them. */
export function since(started: number): string {
  return `${Date.now() - started} ms`;
}

/**
 * With debug on, an object whose methods log each call as the original's driver plugins did
 * ("(NAME) Calling .GetState") and its end with its time; with debug off, the object itself.
 */
export function traceCalls<T extends object>(obj: T, prefix: string): T {
  if (!sink) return obj;
  return new Proxy(obj, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'toJSON' || prop === 'constructor')
        return v;
      return (...args: unknown[]) => {
        const name = `.${prop[0].toUpperCase()}${prop.slice(1)}`;
        debug(`${prefix}Calling ${name}`);
        const started = Date.now();
        const r = v.apply(target, args);
        if (r instanceof Promise) {
          r.then(
            () => debug(`${prefix}${name} done in ${since(started)}`),
            (err: unknown) =>
              debug(
                `${prefix}${name} failed in ${since(started)}: ${err instanceof Error ? err.message : err}`,
              ),
          );
        }
        return r;
      };
    },
  });
}

/**
 * With debug on, one line when a request ends: "engine tcp://H:P: GET /version -> 200 (12 ms)", or
 * its error. The status of an error comes from its `status` field where it has one.
 */
export function traceRequest<T>(
  where: string,
  method: string,
  path: string,
  p: Promise<T>,
  status: (v: T) => number | undefined,
): Promise<T> {
  if (!sink) return p;
  const started = Date.now();
  p.then(
    (v) => debug(`${where}: ${method} ${path} -> ${status(v) ?? 'ok'} (${since(started)})`),
    (err: unknown) => {
      const code = (err as { status?: unknown } | undefined)?.status;
      const text = err instanceof Error ? err.message : String(err);
      debug(
        `${where}: ${method} ${path} -> ${typeof code === 'number' ? code : 'failed'} (${since(started)}): ${text}`,
      );
    },
  );
  return p;
}
