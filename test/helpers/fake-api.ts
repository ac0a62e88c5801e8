import { execFile } from 'node:child_process';

/**
 * What the stateful cloud fakes share: the request quota of a provider that throttles by window
 * (DigitalOcean, Hetzner, Nova), and the python3 checker that holds their recorded bodies against
 * the provider's API description.
 */

/** Requests allowed per window; those beyond are the fake's 429s until the window turns. */
export class RateWindow {
  private start = Date.now();
  private count = 0;

  constructor(private readonly rate: { limit: number; windowMs: number } | undefined) {}

  /** Counts the request in the window; true when it is over the limit. */
  over(): boolean {
    const rl = this.rate;
    if (!rl) return false;
    const now = Date.now();
    if (now - this.start >= rl.windowMs) {
      this.start = now;
      this.count = 0;
    }
    if (this.count >= rl.limit) return true;
    this.count++;
    return false;
  }

  /** The RateLimit-* headers of every answer, for the provider's own quota when none is set. */
  headers(unset: { limit: number; windowMs: number }): Record<string, string> {
    const rl = this.rate ?? unset;
    return {
      'ratelimit-limit': String(rl.limit),
      'ratelimit-remaining': String(Math.max(0, rl.limit - this.count)),
      'ratelimit-reset': String(Math.ceil((this.start + rl.windowMs) / 1000)),
    };
  }
}

/** A fake's validate.py (`script`) run with `args`, `input` on its stdin: what it printed. */
export function runValidator(script: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'python3',
      [script, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`validate.py: ${stderr || err.message}`));
        resolve(stdout);
      },
    );
    child.stdin!.end(input);
  });
}
