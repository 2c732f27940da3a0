/**
 * Docs that cannot drift: every table in README.md and docs/ that restates the code is checked
 * against the code here — the settings (src/service/config.ts, src/admission/settings.ts,
 * src/observability/tracing.ts), the outcomes and reasons (src/core/outcome.ts, src/core/event.ts),
 * the CLI's options (the program src/cli/program.ts builds) and the benchmark figures
 * (bench/results/latest.json through scripts/perfDoc.ts) — and every relative link resolves.
 * The alert table is checked by test/deploy/alerts.test.ts against the rendered rules.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { PERF_PAGE, readResults, renderPerfPage } from '../../scripts/perfDoc.js';
import { admissionFromEnv } from '../../src/admission/settings.js';
import { buildProgram } from '../../src/cli/program.js';
import { POISON_REASONS } from '../../src/core/event.js';
import { DONE_KINDS } from '../../src/core/kinds.js';
import { ADMIT_REASONS, DEAD_LETTER_REASONS, RETRY_CAUSES, SFN_DEAD_LETTER_REASONS } from '../../src/core/outcome.js';
import { ENV_DEFAULTS, ENV_NAMES, loadConfig } from '../../src/service/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The text under `## heading` up to the next `## ` heading. */
function section(page: string, heading: string): string {
  const lines = page.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The body rows of the first table in `text`, split into cells (`\|` stays inside a cell). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = start + 2; start >= 0 && i < lines.length && lines[i]?.startsWith('|'); i++) {
    rows.push(
      (lines[i] as string)
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
  }
  return rows;
}

const codeSpans = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('docs/configuration.md', () => {
  const rows = tableRows(read('docs/configuration.md'));
  /** variable → its default cell */
  const documented = new Map<string, string>();
  for (const [names, fallback] of rows) {
    for (const name of codeSpans(names)) documented.set(name, fallback ?? '');
  }
  const tracing = read('src/observability/tracing.ts');
  /** The OTEL_* variables the relay's tracing reads, and the default it applies where it applies one. */
  const otelRead = new Set([...tracing.matchAll(/env\.(OTEL_[A-Z_]+)/g)].map((m) => m[1] as string));
  const otelDefaults = new Map(
    [...tracing.matchAll(/env\.(OTEL_[A-Z_]+)\s*\?\?=?\s*'([^']*)'/g)].map((m) => [m[1] as string, m[2] as string]),
  );
  // No exporter named: the one tracing.ts starts with.
  const exporterDefault = /names\.length === 0 \? \['([a-z]+)'\]/.exec(tracing)?.[1];
  if (exporterDefault !== undefined) otelDefaults.set('OTEL_TRACES_EXPORTER', exporterDefault);
  /** Read by the SDK parts the relay loads, not by its own code: the resource detector and the exporters. */
  const readBySdk = ['OTEL_RESOURCE_ATTRIBUTES', 'OTEL_EXPORTER_OTLP_HEADERS'];
  const admissionEnv = read('src/admission/settings.ts').split('export interface AdmissionEnv {')[1]?.split('}')[0];
  const allowlistVariables = [...(admissionEnv ?? '').matchAll(/^\s*([A-Z_]+)\?:/gm)].map((m) => m[1] as string);

  it('lists every variable the relay reads, and nothing else', () => {
    expect(allowlistVariables.length).toBeGreaterThan(0);
    for (const name of allowlistVariables) expect(ENV_NAMES, `${name} (src/admission/settings.ts)`).toContain(name);
    const expected = [...ENV_NAMES, ...allowlistVariables, ...otelRead, ...readBySdk];
    expect(sorted(documented.keys())).toEqual(sorted(expected));
  });

  it('gives each variable the default the code applies', () => {
    const required = new Set<string>();
    try {
      loadConfig({});
    } catch (err) {
      for (const p of (err as { problems: string[] }).problems) required.add(p.split(' ')[0] as string);
    }
    expect(sorted(required)).toEqual(['DLQ_URL', 'SOURCE_QUEUE_URL']);
    // Defaults applied after the schema: TRUST_QUEUE_POLICY unset reads as `false`.
    const trustOnly = { ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders' };
    expect(admissionFromEnv(trustOnly)).toEqual(admissionFromEnv({ ...trustOnly, TRUST_QUEUE_POLICY: 'false' }));
    const applied = new Map([...otelDefaults, ['TRUST_QUEUE_POLICY', 'false']]);
    const wrong: string[] = [];
    for (const [name, cell] of documented) {
      const fallback = ENV_DEFAULTS[name] ?? applied.get(name);
      const first = /^`([^`]*)`/.exec(cell)?.[1];
      if (fallback !== undefined) {
        if (first !== fallback) wrong.push(`${name}: documented ${cell}, the code's default is ${fallback}`);
      } else if (required.has(name)) {
        if (cell !== 'required') wrong.push(`${name}: documented ${cell}, but it is required`);
      } else if (/^`[^`]*`$/.test(cell)) {
        wrong.push(`${name}: documented ${cell}, but the code applies no default`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the README’s settings are among them, with the same defaults', () => {
    const readme = tableRows(section(read('README.md'), 'Settings'));
    expect(readme.length).toBeGreaterThanOrEqual(12);
    for (const [names, fallback] of readme) {
      for (const name of codeSpans(names)) expect(documented.get(name), name).toBe(fallback);
    }
  });
});

describe('docs/outcomes.md and the README’s outcome table', () => {
  const finishRecord = read('src/pipeline/finishRecord.ts').split('const METRIC_OUTCOME')[1]?.split('};')[0] ?? '';
  const metricOutcomes = [...finishRecord.matchAll(/:\s*'([a-z_]+)'/g)].map((m) => m[1] as string);
  // A duplicate's reason names the kind that closed its token (finishRecord.ts: `after_${first}`).
  const duplicateReasons = DONE_KINDS.map((k) => `after_${k}`);
  const known = new Set<string>([...metricOutcomes, ...DEAD_LETTER_REASONS, ...RETRY_CAUSES, ...duplicateReasons]);
  const rows = tableRows(section(read('docs/outcomes.md'), 'Outcomes'));
  /** metric column: `outcome` / `reason` */
  const metricCells = rows.map((r) => codeSpans(r[3]));

  it('names every outcome, retry cause and dead-letter reason, each row with what ends it', () => {
    expect(metricOutcomes).toContain('dlq_send_failed');
    expect(DEAD_LETTER_REASONS).toEqual([...POISON_REASONS, ...ADMIT_REASONS, ...SFN_DEAD_LETTER_REASONS]);
    const named = new Set(metricCells.flat());
    expect([...known].filter((k) => !named.has(k))).toEqual([]);
    for (const row of rows) expect(row[4], row[0]).toMatch(/\S/);
    const dlqRow = rows.find((r) => codeSpans(r[3]).includes('dlq_send_failed'));
    expect(dlqRow?.[4]).toMatch(/operator/);
  });

  it('names no reason the code does not have', () => {
    // snake_case spans are outcomes and reasons; AWS error codes (CamelCase) are the DLQ refusal's.
    const unknown = metricCells.flat().filter((s) => /^[a-z][a-z_]*$/.test(s) && !known.has(s));
    expect(unknown).toEqual([]);
  });

  it('the README’s short table names only existing reasons, and ends each row', () => {
    const readme = tableRows(section(read('README.md'), 'What happens to it'));
    expect(readme.length).toBeGreaterThan(5);
    const spans = readme.flatMap((r) => [...codeSpans(r[0]), ...codeSpans(r[2])]);
    expect(spans.filter((s) => /^[a-z][a-z_]*$/.test(s) && !known.has(s))).toEqual([]);
    for (const row of readme) expect(row[2], row[0]).toMatch(/\S/);
  });
});

describe('docs/cli.md', () => {
  const page = read('docs/cli.md');
  const program = buildProgram();
  const options: string[] = [];
  const commands: string[] = [];
  const walk = (c: Command, path: string[]) => {
    for (const o of c.options) options.push(`${path.join(' ') || 'sfn-relay'} ${o.flags}`);
    for (const sub of c.commands) {
      commands.push([...path, sub.name()].join(' '));
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(program, []);

  it('has every option of every command in its table, and only those', () => {
    expect(options.length).toBeGreaterThan(20);
    const rows = tableRows(section(page, 'Every option'));
    const documented = rows.map(([command, flags]) => `${codeSpans(command)[0]} ${codeSpans(flags)[0]}`);
    expect(sorted(documented)).toEqual(sorted(options));
  });

  it('names every command', () => {
    for (const command of commands) expect(page, command).toContain(`\`${command}`);
  });
});

describe('docs/performance.md', () => {
  it('shows the figures of bench/results/latest.json, as npm run docs:perf writes them', () => {
    const page = readFileSync(PERF_PAGE, 'utf8');
    expect(page, 'run `npm run docs:perf`').toBe(renderPerfPage(page, readResults()));
    expect(page).toContain(`Run of ${readResults().when.slice(0, 10)}`);
  });
});

/** GitHub's anchor for a heading. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');

describe('README.md and docs/', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
  ];

  it('every relative link leads to a file, and every anchor to a heading', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = read(page).replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue;
        const [path, anchor] = link.split('#');
        const target = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path as string);
        if (!existsSync(target)) {
          broken.push(`${page}: ${link}`);
          continue;
        }
        if (anchor === undefined) continue;
        const headings = readFileSync(target, 'utf8')
          .split('\n')
          .filter((l) => /^#{1,6} /.test(l))
          .map((l) => slug(l.replace(/^#+ /, '')));
        if (!headings.includes(anchor)) broken.push(`${page}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README is a front door: at most 250 lines, run / send / configure / secure on its first screen', () => {
    const readme = read('README.md').split('\n');
    expect(readme.length).toBeLessThanOrEqual(250);
    const first = readme.slice(0, 40).join('\n');
    for (const target of ['#try-it', '#what-to-send', '#settings', '#securing-it', 'docs/iam-policy.json']) {
      expect(first).toContain(`(${target})`);
    }
  });
});
