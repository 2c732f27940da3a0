/**
 * The layout of src/ is the architecture: folders are layers, and imports run only downward
 * (entry points → assembly → pipeline → clients and state → observability → vocabulary → envelopes).
 * The Layout section (docs/development.md) describes the tree; every folder it names exists, and every folder is named.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');
/** Where the Layout section lives. */
const DOC = 'docs/development.md';

/** Higher rank may import lower or equal rank; never higher. */
const RANK: Record<string, number> = {
  envelope: 0,
  core: 1,
  observability: 2,
  aws: 3,
  state: 3,
  admission: 4,
  pipeline: 4,
  service: 5,
  cli: 6,
  '.': 6, // main.ts, index.ts
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const layerOf = (file: string) => {
  const top = relative(SRC, file).split('/');
  return top.length === 1 ? '.' : (top[0] as string);
};
const IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

describe('src/ layout', () => {
  const files = walk(SRC);

  it('every folder is a known layer', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(folders.sort()).toEqual(
      Object.keys(RANK)
        .filter((k) => k !== '.')
        .sort(),
    );
  });

  it('no import runs from a lower layer back up', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = resolve(dirname(file), spec as string);
        const to = layerOf(target);
        if ((RANK[to] as number) > (RANK[from] as number))
          wrong.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the Layout section names every folder of src/, and only folders that exist', () => {
    const doc = readFileSync(join(ROOT, DOC), 'utf8');
    const named = new Set([...doc.matchAll(/`src\/([a-z]+)\/`/g)].map((m) => m[1] as string));
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect([...named].sort()).toEqual(folders.sort());
  });

  it('no file over 300 lines', () => {
    const long = files
      .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });
});
