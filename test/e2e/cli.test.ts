/** The real `sfn-relay` command, run as a child process against the SQS emulator. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEAD_LETTER_ATTRIBUTE, deadLetterEntry } from '../../src/deadLetter.js';
import { startService } from '../../src/service.js';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
} from '../support/emulators.js';
import { drainQueue, publish } from '../support/queue.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sfn-relay send-task-failure', () => {
  it('prints exactly the AWS CLI skeleton', async () => {
    // `aws stepfunctions send-task-failure --generate-cli-skeleton` prints this, 4-space indented.
    const aws = '{\n    "taskToken": "",\n    "error": "",\n    "cause": ""\n}\n';
    expect(await cli(['send-task-failure', '--generate-cli-skeleton'])).toEqual({ code: 0, stdout: aws, stderr: '' });
    expect((await cli(['send-task-failure', '--generate-cli-skeleton', 'input'])).stdout).toBe(aws);
    // `output`: validate the inputs, print nothing.
    expect(await cli(['send-task-failure', '--generate-cli-skeleton', 'output', '--task-token', 't'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('exits 2 with one clear line for bad options', async () => {
    const cases: [string[], RegExp][] = [
      [['send-task-failure', '--bogus'], /unknown option '--bogus'/],
      [['send-task-failure', '--error', 'E'], /required: --task-token/],
      [['send-task-failure', '--task-token', 'has space', '--queue-url', 'http://q/1/x'], /token_invalid_character/],
      [
        ['send-task-failure', '--task-token', 't', '--error', 'e'.repeat(300), '--generate-cli-skeleton', 'bad'],
        /"input" or "output"/,
      ],
      [['send-task-failure', '--task-token', 't'], /queue-url is required \(--queue-url or SOURCE_QUEUE_URL\)/],
      [['send-task-failure', '--cli-input-json', '{"taskToken":"t","extra":1}'], /unknown parameter "extra"/],
      [['send-task-failure', '--cli-input-json', 'file:///nonexistent.json'], /cannot read/],
      [['dlq', 'list', '--dlq-url', 'http://q/1/x', '--older-than', 'yesterday'], /--older-than takes a duration/],
      [['dlq', 'purge', '--dlq-url', 'http://q/1/x'], /add --yes/],
      [['dlqq'], /unknown command 'dlqq'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('publishes an event that the relay consumes and that fails its execution', async () => {
    const source = await emu.sqs.createQueue('cli-source');
    const dlq = await emu.sqs.createQueue('cli-dlq');
    const machine = await createActivityMachine(emu.sfn.client, 'cli');
    const [task, second] = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const dir = mkdtempSync(join(tmpdir(), 'sfn-relay-'));
    writeFileSync(
      join(dir, 'in.json'),
      JSON.stringify({ taskToken: second?.token, error: 'FromFile', cause: 'file cause' }),
    );

    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const sent = await cli(
      ['send-task-failure', '--task-token', task?.token ?? '', '--error', 'CliError', '--cause', 'from the CLI'],
      { SOURCE_QUEUE_URL: source, TRACEPARENT: traceparent },
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    // The caller's trace context travels with the event (the relay links its span to it).
    const published = emu.sqs.server.inspectQueue('cli-source')?.messages.ready[0];
    expect(published?.messageAttributes.traceparent?.StringValue).toBe(traceparent);
    // --cli-input-json from a file, with a command-line value overriding it.
    const fromFile = await cli(
      ['send-task-failure', '--cli-input-json', `file://${join(dir, 'in.json')}`, '--error', 'Overridden'],
      {
        SOURCE_QUEUE_URL: source,
      },
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);

    const service = await startService(
      loadConfig({
        SOURCE_QUEUE_URL: source,
        DLQ_URL: dlq,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
        AWS_ENDPOINT_URL_SFN: emu.sfn.endpoint,
        HTTP_PORT: '0',
        WAIT_TIME_SECONDS: '1',
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const first = await waitFor('the execution to fail', async () => {
        const r = await executionFailure(emu.sfn.client, task?.executionArn ?? '');
        return r.activityFailedEvents > 0 ? r : undefined;
      });
      expect(first).toMatchObject({ status: 'FAILED', error: 'CliError', cause: 'from the CLI' });
      const other = await waitFor('the second execution to fail', async () => {
        const r = await executionFailure(emu.sfn.client, second?.executionArn ?? '');
        return r.activityFailedEvents > 0 ? r : undefined;
      });
      expect(other).toMatchObject({ status: 'FAILED', error: 'Overridden', cause: 'file cause' });
    } finally {
      await service.stop();
    }
  });
});

describe('sfn-relay dlq', () => {
  it('lists without consuming and redrives 500 messages without losing one', async () => {
    const source = await emu.sqs.createQueue('redrive-source');
    const dlq = await emu.sqs.createQueue('redrive-dlq');
    const now = new Date().toISOString();
    const entries = Array.from({ length: 500 }, (_, i) => {
      const built = deadLetterEntry(
        String(i),
        {
          MessageId: `m${i}`,
          Body: JSON.stringify({ taskToken: `token-${i}`, error: `E${i}` }),
          MessageAttributes: { producer: { DataType: 'String', StringValue: `p${i}` } },
        },
        {
          reason: i < 450 ? 'retries_exhausted' : 'sfn_invalid_token',
          detail: 'test',
          sourceMessageId: `m${i}`,
          receiveCount: 5,
          firstReceivedAt: now,
          deadLetteredAt: now,
          tokenHash: 'abcdef123456',
        },
      );
      return built.entry;
    });
    await publish(
      emu.sqs.client,
      dlq,
      entries.map((e) => ({
        body: e.MessageBody ?? '',
        ...(e.MessageAttributes ? { attributes: e.MessageAttributes } : {}),
      })),
    );
    const env = { DLQ_URL: dlq, SOURCE_QUEUE_URL: source };

    const listed = await cli(['dlq', 'list', '--json', '--reason', 'sfn_invalid_token'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as { reason: string; tokenHash: string; error: string }[];
    expect(rows).toHaveLength(50);
    expect(rows[0]).toMatchObject({ reason: 'sfn_invalid_token', tokenHash: 'abcdef123456' });
    const table = await cli(['dlq', 'list', '--max', '20'], env);
    expect(table.stdout).toMatch(/^REASON\s+RECV\s+AGE\s+TOKEN\s+ERROR$/m);
    expect(table.stdout).toMatch(/retries_exhausted\s+5\s+\d+s\s+abcdef12\s+E\d+/);
    expect(table.stdout).toContain('20 message(s)');
    // Listing consumed nothing and handed visibility back.
    expect(queueCounts(emu.sqs.server, 'redrive-dlq')).toMatchObject({ ready: 500, inflight: 0 });

    const dry = await cli(['dlq', 'redrive', '--dry-run', '--reason', 'retries_exhausted'], env);
    expect(dry.stdout).toMatch(/^would move 450, skipped 50/m);
    expect(queueCounts(emu.sqs.server, 'redrive-source').total).toBe(0);

    const moved = await cli(['dlq', 'redrive'], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^moved 500, skipped 0 \(filtered\), failed 0/m);
    expect(queueCounts(emu.sqs.server, 'redrive-dlq').total).toBe(0);

    const back = await drainQueue(emu.sqs.client, source);
    expect(back).toHaveLength(500);
    const bodies = new Set(back.map((m) => m.Body));
    for (const e of entries) expect(bodies.has(e.MessageBody)).toBe(true);
    for (const m of back) {
      expect(m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]).toBeUndefined();
      expect(m.MessageAttributes?.producer?.StringValue).toMatch(/^p\d+$/);
    }
  });
});

describe('sfn-relay validate', () => {
  it('says per line valid or the exact dead-letter reason', async () => {
    const input = [
      '{"taskToken":"abc","error":"E"}',
      'not json',
      '{"Type":"Notification","Message":"{\\"taskToken\\":\\"x\\"}"}',
      '{"taskToken":"a\\tb"}',
    ].join('\n');
    const r = await cli(['validate', '-'], {}, input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        'line 1: valid (plain)',
        'line 2: invalid body_not_json: body has no valid JSON',
        'line 3: valid (sns)',
        'line 4: invalid token_invalid_character: "taskToken" contains U+0009 at index 1',
        '',
      ].join('\n'),
    );
    const one = await cli(['validate'], {}, '{\n  "taskToken": "abc"\n}\n');
    expect(one).toMatchObject({ code: 0, stdout: 'line 1: valid (plain)\n' });
  });
});
