import { writeSync } from 'node:fs';

/**
 * Tests prove that a kill -9 at an exact moment leaves nothing a later command trips on. With
 * DM_TEST_PAUSE_AT=POINT the process says `paused at POINT` on stderr when it reaches POINT and
 * then waits there until it is killed. Without the variable this is one property read.
 */
export async function pauseAt(point: string): Promise<void> {
  if (process.env.DM_TEST_PAUSE_AT !== point) return;
  // Synchronous: the line must be out before the test reads it and kills us.
  writeSync(2, `paused at ${point}\n`);
  await new Promise(() => setInterval(() => {}, 60_000));
}
