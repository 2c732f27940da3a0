/** No Docker engine here: the Dockerfile's rules are checked on its parsed form instead. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const stages = dockerfile.getFROMs();
const instructions = dockerfile.getInstructions();
const runtimeStart = stages.at(-1)?.getRange().start.line ?? 0;
const runtime = instructions.filter((i) => i.getRange().start.line >= runtimeStart);
const args = (kw: string, list = instructions) =>
  list.filter((i) => i.getKeyword() === kw).map((i) => i.getArgumentsContent() ?? '');

describe('Dockerfile', () => {
  it('builds in a full Node 24 image and runs on a minimal Node 24 runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const argDefaults = Object.fromEntries(args('ARG').map((a) => a.split('=') as [string, string]));
    expect(argDefaults.NODE_IMAGE).toMatch(/^node:24-(bookworm|trixie)$/);
    expect(argDefaults.RUNTIME_IMAGE).toMatch(/distroless\/nodejs24|node:24-.*slim/);
    // The Dockerfile's own ARG references, literally.
    const arg = (name: string) => `\${${name}}`;
    expect(stages.at(-1)?.getImageName()).toBe(arg('RUNTIME_IMAGE'));
    expect(stages[0]?.getImageName()).toBe(arg('NODE_IMAGE'));
  });

  it('puts only compiled JavaScript and production dependencies in the runtime stage', () => {
    expect(args('RUN').some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    // Flags such as --from are not part of the arguments: read the whole instruction.
    const copies = runtime.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getTextContent());
    expect(copies.some((c) => /--from=deps .*node_modules/.test(c))).toBe(true);
    expect(copies.some((c) => /--from=build .*dist/.test(c))).toBe(true);
    expect(copies.some((c) => /\bsrc\b/.test(c))).toBe(false);
    // Production deps come from a stage that never ran a plain `npm ci`.
    const depsStage = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split(/^FROM /m)
      .find((s) => / AS deps/.test(s));
    expect(depsStage).toContain('npm ci --omit=dev');
    expect(depsStage).not.toMatch(/npm ci(?! --omit=dev)/);
  });

  it('runs as a numeric non-root user, starts node directly and exposes the HTTP port', () => {
    const user = args('USER', runtime).at(-1) ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    const entry = JSON.parse(args('ENTRYPOINT', runtime).at(-1) ?? '[]') as string[];
    expect(entry[0]).toMatch(/\/node$/);
    expect(entry[1]).toBe('dist/main.js');
    expect(args('CMD', runtime)).toEqual([]);
    expect(args('EXPOSE', runtime)).toContain('8080');
    expect(args('ENV', runtime).join(' ')).toContain('HTTP_PORT=8080');
  });

  it('carries OCI labels and a .dockerignore that keeps the context small', () => {
    const labels = args('LABEL').join(' ');
    for (const key of ['title', 'description', 'licenses', 'source']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
    expect(ignore.split('\n')).toContain('*');
    expect(ignore).not.toContain('!node_modules');
    expect(ignore).not.toContain('!test');
  });
});
