/**
 * A temporary directory that removes itself: when the current test ends if made inside a test, or
 * when the file's tests end if made at the top of a file or in a `describe`. The suite must leave
 * the temporary directory as it found it (test/support/leftovers.ts checks that).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    onTestFinished(remove);
  } catch {
    // "can only be called inside a test": made while the file is collected, so it lives as long as the file.
    afterAll(remove);
  }
  return dir;
}
