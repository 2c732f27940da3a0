/**
 * `npm run test:image`: the image built and run as Kubernetes runs it, with podman. Not part of
 * `npm test` (a cold run takes ~8–10 min here); skips with one line when podman is missing.
 *
 * Base images cannot be pulled on this machine, so the build takes local stand-ins through the
 * Dockerfile's build args: a Debian bookworm root (`debootstrap --variant=minbase`, from the apt
 * mirror the machine has) with the Node 24 binary of the `node` npm package and the system's npm,
 * for NODE_IMAGE; and a distroless-like root (`/nodejs/bin/node`, the shared libraries `ldd` names,
 * /etc/passwd with nonroot 65532, no shell) for RUNTIME_IMAGE. Both are cached under
 * node_modules/.cache/sfn-relay/images.
 *
 * Then the image runs `--read-only --user 65532:65532 --cap-drop ALL --security-opt
 * no-new-privileges` against the emulators and this asserts: an execution fails with the published
 * error and cause; /healthz, /readyz, /metrics answer; `podman stop` exits 0 within the chart's
 * grace period, also with a hanging Step Functions endpoint and a hanging OTLP collector; no dev
 * dependency in the image; the app's files owned by root and not writable by it. It prints the
 * image size, the start-up time and the idle RSS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/service/config.js';
import { shutdownBudgetSeconds } from '../src/service/shutdown.js';
import {
  createActivityMachine,
  executionFailure,
  startExecutionsWithTokens,
  startSfn,
  startSqs,
} from '../test/support/emulators.js';
import { publish } from '../test/support/queue.js';
import { startSfnProxy } from '../test/support/sfnProxy.js';
import { waitFor } from '../test/support/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules/.cache/sfn-relay/images');
const IMAGE = 'localhost/sfn-failure-relay:test';
const NODE_BASE = 'localhost/sfn-relay-node:24-bookworm';
const RUNTIME_BASE = 'localhost/sfn-relay-distroless:24';
const started = Date.now();
const figures: Record<string, string | number> = {};

const log = (line: string) => process.stdout.write(`[image ${((Date.now() - started) / 1000).toFixed(0)} s] ${line}\n`);

function sh(cmd: string, args: string[], options: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, CONTAINERS_CONF: join(CACHE, 'containers.conf'), ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stdout ?? '').slice(-3000)}${(r.stderr ?? '').slice(-3000)}`,
    );
  }
  if (!options.quiet && r.stderr.trim() !== '') process.stderr.write(r.stderr.slice(-500));
  return r.stdout;
}

function podman(...args: string[]): string {
  return sh('podman', args, { quiet: true });
}

/** podman here: runc (crun fails on this machine's cgroups), ulimits it may set. */
function podmanConfig(): void {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(
    join(CACHE, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n',
  );
}

function hasImage(name: string): boolean {
  return (
    spawnSync('podman', ['image', 'exists', name], {
      env: { ...process.env, CONTAINERS_CONF: join(CACHE, 'containers.conf') },
    }).status === 0
  );
}

function importRoot(root: string, name: string): void {
  const tar = `${root}.tar`;
  sh('tar', ['-C', root, '-cf', tar, '.']);
  podman('import', tar, name);
  rmSync(tar);
}

/** NODE_IMAGE's stand-in: Debian bookworm (minbase) with Node 24 and npm. */
function nodeBase(nodeBinary: string): void {
  if (hasImage(NODE_BASE)) return;
  const root = join(CACHE, 'bookworm');
  if (!existsSync(join(root, 'etc/debian_version'))) {
    log('debootstrap --variant=minbase bookworm (once; under a minute to a few, by mirror)');
    rmSync(root, { recursive: true, force: true });
    sh('debootstrap', ['--variant=minbase', 'bookworm', root], { quiet: true });
  }
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  copyFileSync(nodeBinary, join(root, 'usr/local/bin/node'));
  sh('chmod', ['755', join(root, 'usr/local/bin/node')]);
  // npm from the machine (plain JavaScript): the build runs `npm ci`.
  const npmDir = dirname(
    dirname(
      execFileSync('readlink', ['-f', execFileSync('which', ['npm'], { encoding: 'utf8' }).trim()], {
        encoding: 'utf8',
      }).trim(),
    ),
  );
  mkdirSync(join(root, 'usr/local/lib/node_modules'), { recursive: true });
  rmSync(join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, force: true });
  sh('cp', ['-a', npmDir, join(root, 'usr/local/lib/node_modules/npm')]);
  for (const bin of ['npm', 'npx']) {
    rmSync(join(root, 'usr/local/bin', bin), { force: true });
    symlinkSync(`../lib/node_modules/npm/bin/${bin}-cli.js`, join(root, 'usr/local/bin', bin));
  }
  importRoot(root, NODE_BASE);
}

/** RUNTIME_IMAGE's stand-in, shaped like distroless nodejs24: /nodejs/bin/node, its libraries, user 65532, no shell. */
function runtimeBase(nodeBinary: string): void {
  if (hasImage(RUNTIME_BASE)) return;
  const root = join(CACHE, 'distroless');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'nodejs/bin'), { recursive: true });
  copyFileSync(nodeBinary, join(root, 'nodejs/bin/node'));
  sh('chmod', ['755', join(root, 'nodejs/bin/node')]);
  const libs = [...execFileSync('ldd', [nodeBinary], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)].map(
    (m) => m[1] ?? '',
  );
  for (const lib of new Set(libs)) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(execFileSync('readlink', ['-f', lib], { encoding: 'utf8' }).trim(), join(root, lib));
  }
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  mkdirSync(join(root, 'tmp'), { recursive: true });
  importRoot(root, RUNTIME_BASE);
}

function build(): void {
  log('podman build (cold: about 4 minutes; cached: seconds)');
  const t0 = Date.now();
  sh(
    'podman',
    [
      'build',
      '--network',
      'host',
      '--build-arg',
      `NODE_IMAGE=${NODE_BASE}`,
      '--build-arg',
      `RUNTIME_IMAGE=${RUNTIME_BASE}`,
      '--build-arg',
      'NODE_EXTRA_CA_CERTS=/etc/host-ca.pem',
      '-v',
      '/etc/ssl/certs/ca-certificates.crt:/etc/host-ca.pem:ro',
      '-t',
      IMAGE,
      ROOT,
    ],
    { quiet: true },
  );
  figures.build_seconds = Math.round((Date.now() - t0) / 1000);
}

/** Files in the image, from a container that is created but never started. */
function imageFiles(): { list: string; sizeMiB: number } {
  const id = podman('create', IMAGE).trim();
  try {
    const list = sh('sh', ['-c', `podman export ${id} | tar -tv`], { quiet: true });
    return { list, sizeMiB: Number(podman('image', 'inspect', IMAGE, '--format', '{{.Size}}').trim()) / 1024 / 1024 };
  } finally {
    podman('rm', id);
  }
}

function checkContents(): void {
  const { list, sizeMiB } = imageFiles();
  figures.image_mib = Math.round(sizeMiB);
  const devOnly = [
    'typescript',
    'vitest',
    'fauxqs',
    'tsx',
    '@biomejs',
    'node/bin/node',
    'stepfunctions-local',
    'kubernetes-models',
  ];
  const found = devOnly.filter((d) => list.includes(`app/node_modules/${d}/`));
  if (found.length > 0) throw new Error(`dev dependencies in the image: ${found.join(', ')}`);
  if (/app\/dist\/\S+\.(map|d\.ts)$/m.test(list)) throw new Error('source maps or declarations in dist');
  if (/\sbin\/(ba)?sh$/m.test(list)) throw new Error('a shell in the runtime image');
  const appLines = list.split('\n').filter((l) => / app\/(dist|node_modules)\//.test(l));
  const notRoot = appLines.filter((l) => !/^\S+\s+0\/0\s/.test(l) && !/^\S+\s+root\/root\s/.test(l));
  if (notRoot.length > 0) throw new Error(`files under /app not owned by root: ${notRoot.slice(0, 3).join(' | ')}`);
  // Symlinks always show rwx: their targets' modes are what count.
  const groupOrOtherWritable = appLines.filter((l) => !l.startsWith('l') && /^.{5}w|^.{8}w/.test(l));
  if (groupOrOtherWritable.length > 0)
    throw new Error(`files under /app writable by the app user: ${groupOrOtherWritable.slice(0, 3).join(' | ')}`);
  log(
    `contents: ${appLines.length} files under /app, all root-owned and read-only to 65532; no dev dependency, no shell`,
  );
}

async function hangingServer(): Promise<{ url: string; held: ServerResponse[]; close: () => void }> {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    close: () => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Run {
  name: string;
  port: number;
}

function runContainer(env: Record<string, string>, port: number): Run {
  const name = `relay-image-${Date.now()}`;
  const envArgs = Object.entries({ ...env, HTTP_PORT: String(port) }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  podman(
    'run',
    '-d',
    '--name',
    name,
    '--read-only',
    '--user',
    '65532:65532',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--network',
    'host',
    ...envArgs,
    IMAGE,
  );
  return { name, port };
}

async function ready(run: Run, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    'the container to be ready',
    async () => (await fetch(`http://127.0.0.1:${run.port}/readyz`)).status === 200,
    {
      timeoutMs,
      intervalMs: 20,
    },
  );
  return Date.now() - t0;
}

function rssMiB(run: Run): number {
  const pid = podman('inspect', run.name, '--format', '{{.State.Pid}}').trim();
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

function stop(run: Run, graceSeconds: number): { code: number; seconds: number } {
  const t0 = Date.now();
  podman('stop', '-t', String(graceSeconds), run.name);
  const seconds = (Date.now() - t0) / 1000;
  const code = Number(podman('inspect', run.name, '--format', '{{.State.ExitCode}}').trim());
  const logs = sh('podman', ['logs', run.name], { quiet: true });
  podman('rm', run.name);
  if (code !== 0) throw new Error(`the container exited ${code} after ${seconds} s:\n${logs.slice(-2000)}`);
  if (seconds >= graceSeconds) throw new Error(`stop took ${seconds} s, the grace period is ${graceSeconds} s`);
  return { code, seconds };
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v podman']).status !== 0) {
    process.stdout.write('test:image skipped: podman is missing (apt-get install podman runc debootstrap)\n');
    return;
  }
  podmanConfig();
  const nodeBinary = join(ROOT, 'node_modules/node/bin/node');
  nodeBase(nodeBinary);
  runtimeBase(nodeBinary);
  build();
  checkContents();

  const [sqs, sfn] = await Promise.all([startSqs(), startSfn()]);
  const proxy = await startSfnProxy(sfn.endpoint);
  try {
    const source = await sqs.createQueue('image-source');
    const dlq = await sqs.createQueue('image-dlq');
    const machine = await createActivityMachine(sfn.client, 'image');
    const tasks = await startExecutionsWithTokens(sfn.client, machine, 6);
    const base = {
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: proxy.endpoint,
      // Short polls: a long poll cut off by a stop still takes messages on the emulator's side
      // (hidden for the visibility timeout), which would slow the next step of this script.
      WAIT_TIME_SECONDS: '1',
      OTEL_TRACES_EXPORTER: 'none',
    };
    const grace = shutdownBudgetSeconds(loadConfig(base));

    // 1. It works: an execution fails with the published error and cause; the endpoints answer.
    const run = runContainer(base, 18_080);
    figures.start_to_ready_ms = await ready(run);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    figures.idle_rss_mib = Math.round(rssMiB(run));
    await publish(sqs.client, source, [
      JSON.stringify({ taskToken: tasks[0]?.token, error: 'FromImage', cause: 'ran in the image' }),
    ]);
    const failed = await waitFor('the execution to fail', async () => {
      const r = await executionFailure(sfn.client, tasks[0]?.executionArn ?? '');
      return r.activityFailedEvents > 0 ? r : undefined;
    });
    if (failed.error !== 'FromImage' || failed.cause !== 'ran in the image')
      throw new Error(`unexpected failure: ${JSON.stringify(failed)}`);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const status = (await fetch(`http://127.0.0.1:${run.port}${path}`)).status;
      if (status !== 200) throw new Error(`${path} answered ${status}`);
    }
    const plain = stop(run, grace);
    log(
      `an execution failed from the image; /healthz /readyz /metrics 200; podman stop → exit 0 in ${plain.seconds.toFixed(1)} s`,
    );
    figures.stop_seconds = Number(plain.seconds.toFixed(1));

    // 2. A stop while Step Functions and the collector both hang: still exit 0 within the grace period.
    const collector = await hangingServer();
    proxy.setFault((call) => (call.target === 'SendTaskFailure' ? { kind: 'hang' } : undefined));
    const hanging = runContainer(
      {
        ...base,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      18_081,
    );
    await ready(hanging);
    await publish(
      sqs.client,
      source,
      tasks.slice(1).map((t, i) => JSON.stringify({ taskToken: t.token, error: `H${i}` })),
    );
    await waitFor('calls hanging', () => proxy.calls.filter((c) => c.fault === 'hang').length >= 3);
    await waitFor('an export hanging', () => collector.held.length >= 1, { timeoutMs: 15_000 });
    const hung = stop(hanging, grace);
    figures.stop_with_hangs_seconds = Number(hung.seconds.toFixed(1));
    figures.grace_seconds = grace;
    log(
      `podman stop with Step Functions and the collector hanging → exit 0 in ${hung.seconds.toFixed(1)} s (grace ${grace} s)`,
    );
    collector.close();
    proxy.setFault(undefined);
  } finally {
    await proxy.stop();
    await Promise.all([sqs.stop(), sfn.stop()]);
  }
  process.stdout.write(
    `test:image passed in ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(figures)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`test:image failed: ${(err as Error)?.message ?? String(err)}\n`);
  // Leave nothing running: print what each container said, then remove it.
  for (const name of podman('ps', '-a', '--format', '{{.Names}}')
    .split('\n')
    .filter((n) => n.startsWith('relay-image-'))) {
    process.stderr.write(
      `--- ${name}:\n${spawnSync('podman', ['logs', name], { encoding: 'utf8' }).stdout.slice(-2000)}\n`,
    );
    podman('rm', '-f', name);
  }
  process.exit(1);
});
