import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseEvent } from '../core/event.js';
import { ResultError, UsageError } from './common.js';

/**
 * Splits input into bodies: the whole input when it is one JSON document (pretty-printed events
 * span lines), else one body per non-empty line.
 */
export function bodiesOf(text: string): { line: number; body: string }[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    JSON.parse(trimmed);
    if (!trimmed.includes('\n')) return [{ line: 1, body: trimmed }];
    // Several lines that are one JSON document: one body, unless every line is a document itself.
    const lines = trimmed.split('\n').filter((l) => l.trim() !== '');
    const each = lines.every((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
    if (!each) return [{ line: 1, body: trimmed }];
  } catch {
    // not one document: one body per line
  }
  return text
    .split('\n')
    .map((body, i) => ({ line: i + 1, body: body.replace(/\r$/, '') }))
    .filter((b) => b.body.trim() !== '');
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .argument('[file]', 'a file of event bodies, or - for standard input', '-')
    .description(
      'Check event bodies offline: valid and of which kind (failure, success, heartbeat), or the exact reason the relay would dead-letter each',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ sfn-relay validate events.jsonl
  $ echo '{"taskToken":"abc","error":"E"}' | sfn-relay validate -

Exit codes: 0 all valid, 1 some invalid, 252 unreadable or empty input.`,
    )
    .action((file: string) => {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const bodies = bodiesOf(text);
      let invalid = 0;
      for (const { line, body } of bodies) {
        const r = parseEvent(body);
        if (r.ok) {
          const note = r.truncated.length > 0 ? `, ${r.truncated.join(' and ')} will be truncated` : '';
          // TODO(issue-25 merge): the parsed event carries its `kind` then; drop the cast.
          const kind = (r.event as { kind?: string }).kind ?? 'failure';
          process.stdout.write(`line ${line}: valid ${kind} (${r.origin.envelope}${note})\n`);
        } else {
          invalid += 1;
          const path = r.origin === undefined || r.origin.envelope === 'plain' ? '' : ` (in ${r.origin.envelope})`;
          process.stdout.write(`line ${line}: invalid ${r.reason}: ${r.detail}${path}\n`);
        }
      }
      if (bodies.length === 0) throw new UsageError('no event bodies in the input');
      if (invalid > 0) throw new ResultError(`${invalid} of ${bodies.length} event(s) invalid`);
    });
}
