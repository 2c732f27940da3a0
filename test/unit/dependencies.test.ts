/**
 * package.json says what runs: every runtime dependency is imported by src/ (the image installs
 * them all), and every package src/ imports is a runtime dependency (the image installs nothing
 * else: one that only arrives with another package, or only in development, is missing there).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/**
 * Runtime dependencies that src/ uses without importing them by name (loaded by a path, a CLI, or a
 * plugin mechanism), each with where and why. None today: keep this list short and explained.
 */
const USED_WITHOUT_IMPORT = new Map<string, string>();

/** Every package a TypeScript source names: static and dynamic imports, re-exports, `import('x').T` types. */
function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  // A package name, with a scope and a subpath if any: relative paths, `node:` built-ins and prose
  // in comments ("from 'the certificate' …") do not look like one.
  const specifiers = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.-]+)*)['"]/g;
  for (const m of source.matchAll(specifiers)) {
    const spec = m[1] ?? '';
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec));
  }
  return names;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const imported = new Set(sources(join(ROOT, 'src')).flatMap((f) => [...importedPackages(readFileSync(f, 'utf8'))]));

describe('dependencies', () => {
  it('finds the imports of every form', () => {
    const src = [
      "import { a } from 'pino';",
      "import type { B } from '@aws-sdk/types';",
      'import {\n  c,\n} from "@opentelemetry/api";',
      "const d = await import('@opentelemetry/exporter-trace-otlp-grpc');",
      "export { e } from 'valibot/sub';",
      "let f: import('ioredis').Cluster;",
      "import 'side-effect';",
      "import { g } from './local.js'; import { h } from 'node:fs';",
      "/** Whether the answer came from 'the certificate\n * server' */",
    ].join('\n');
    expect([...importedPackages(src)].sort()).toEqual(
      [
        '@aws-sdk/types',
        '@opentelemetry/api',
        '@opentelemetry/exporter-trace-otlp-grpc',
        'ioredis',
        'pino',
        'side-effect',
        'valibot',
      ].sort(),
    );
  });

  it('every runtime dependency is imported somewhere in src/', () => {
    const unused = Object.keys(pkg.dependencies).filter((d) => !imported.has(d) && !USED_WITHOUT_IMPORT.has(d));
    expect(unused, 'declared in dependencies, imported nowhere in src/').toEqual([]);
  });

  it('every package src/ imports is a runtime dependency', () => {
    const undeclared = [...imported].filter((d) => !Object.hasOwn(pkg.dependencies, d)).sort();
    expect(undeclared, 'imported by src/, not in dependencies').toEqual([]);
  });
});
