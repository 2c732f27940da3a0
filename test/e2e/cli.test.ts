/** The real `sfn-relay` command, run as a child process against the SQS emulator. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { DeadLetterReason } from '../../src/core/outcome.js';
import { DEAD_LETTER_ATTRIBUTE, deadLetterEntry, readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { awsCliBody } from '../support/awsCliBody.js';
import { expectRefusals, type Refusal, runCli } from '../support/cli.js';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { drainQueue, publish } from '../support/queue.js';
import { tempDir } from '../support/tempDir.js';
import { requireAwsCliV2 } from '../support/tools.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

const cli = (args: string[], env: Record<string, string> = {}, stdin?: string, timeoutMs = 60_000) =>
  runCli(emu.sqs.endpoint, args, env, stdin, timeoutMs);

describe('sfn-relay send-task-failure', () => {
  it('prints exactly the AWS CLI v2 skeletons', async () => {
    const aws = requireAwsCliV2();
    const json = execFileSync(aws, ['stepfunctions', 'send-task-failure', '--generate-cli-skeleton'], {
      encoding: 'utf8',
    });
    const yaml = execFileSync(aws, ['stepfunctions', 'send-task-failure', '--generate-cli-skeleton', 'yaml-input'], {
      encoding: 'utf8',
    });
    expect(await cli(['send-task-failure', '--generate-cli-skeleton'])).toEqual({ code: 0, stdout: json, stderr: '' });
    expect((await cli(['send-task-failure', '--generate-cli-skeleton', 'input'])).stdout).toBe(json);
    expect((await cli(['send-task-failure', '--generate-cli-skeleton', 'yaml-input'])).stdout).toBe(yaml);
    // `output`: validate the inputs, print nothing.
    expect(await cli(['send-task-failure', '--generate-cli-skeleton', 'output', '--task-token', 't'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('answers bad invocations with one line and the AWS CLI v2 exit codes and wording', async () => {
    const dir = tempDir('sfn-relay-');
    writeFileSync(join(dir, 'token-nl.txt'), 'abc\n');
    writeFileSync(join(dir, 'bad.txt'), Buffer.from([0x78, 0xff]));
    const cases: Refusal[] = [
      [['send-task-failure', '--task-token', 't', '--bogus', 'x'], 252, /^sfn-relay: Unknown options: --bogus, x\n$/],
      [['send-task-failure', '--error', 'E'], 252, /the following arguments are required: --task-token/],
      [
        ['send-task-failure', '--cli-input-json', '{"error":"E"}'],
        252,
        /Parameter validation failed: Missing required parameter in input: "taskToken"/,
      ],
      [
        ['send-task-failure', '--cli-input-json', '{"taskToken":"t","extra":1}'],
        252,
        /Unknown parameter in input: "extra", must be one of: taskToken, error, cause/,
      ],
      [
        ['send-task-failure', '--task-token', 'has space', '--queue-url', 'http://q/1/x'],
        252,
        /token_invalid_character/,
      ],
      // file:// keeps the trailing newline, as the AWS CLI does; the relay's validator refuses it.
      [['send-task-failure', '--task-token', `file://${join(dir, 'token-nl.txt')}`], 252, /U\+000A at index 3/],
      [
        ['send-task-failure', '--task-token', 'file:///nonexistent'],
        252,
        /Unable to load paramfile file:\/\/\/nonexistent/,
      ],
      [
        ['send-task-failure', '--task-token', 't', '--cause', `file://${join(dir, 'bad.txt')}`],
        252,
        /could not be decoded/,
      ],
      [
        ['send-task-failure', '--task-token', 't', '--cause', `fileb://${join(dir, 'bad.txt')}`],
        252,
        /Invalid type for parameter cause/,
      ],
      [
        ['send-task-failure', '--task-token', 't', '--generate-cli-skeleton', 'bad'],
        252,
        /"input", "yaml-input" or "output"/,
      ],
      [['send-task-failure', '--task-token', 't'], 252, /queue-url is required \(--queue-url or SOURCE_QUEUE_URL\)/],
      [['send-task-failure', '--cli-input-json', 'file:///nonexistent.json'], 252, /Unable to load paramfile/],
      [
        ['send-task-failure', '--task-token', 't', '--queue-url', 'http://q/1/x.fifo'],
        252,
        /--message-group-id is required for the FIFO queue/,
      ],
      [['send-task-failure', '--task-token', 't', '--queue-url', 'http://q/1/x'], 253, /You must specify a region/],
      [['dlq', 'list', '--dlq-url', 'http://q/1/x', '--older-than', 'yesterday'], 252, /--older-than takes a duration/],
      [
        ['dlq', 'list', '--dlq-url', 'http://q/1/x', '--reason', 'retries_exhaused'],
        252,
        /is not a reason the relay gives/,
      ],
      [
        ['dlq', 'redrive', '--dlq-url', 'http://q/1/x', '--queue-url', 'http://q/1/y', '--reason', 'sfn_invalid_token'],
        252,
        /cannot succeed: Step Functions refused the token.*add --force/,
      ],
      [
        ['dlq', 'redrive', '--dlq-url', 'http://q/1/x', '--queue-url', 'http://q/1/y', '--native', '--max', '3'],
        252,
        /--native moves the whole queue/,
      ],
      [['dlq', 'purge', '--dlq-url', 'http://q/1/x'], 252, /add --yes/],
      [['dlq', 'list', '--dlq-url', `${emu.sqs.endpoint}/000000000000/no-such-queue`], 254, /queue|exist/i],
      [['dlqq'], 252, /unknown command 'dlqq'/],
    ];
    await expectRefusals(cli, cases);
  });

  it('reads file:// values and --cli-input-yaml as the AWS CLI does: the same body', async () => {
    const source = await emu.sqs.createQueue('cli-files');
    const dir = tempDir('sfn-relay-');
    const token = 'AAAAKgAAAAIAAAAAAAAAAfiletoken0123456789';
    writeFileSync(join(dir, 'token.txt'), token); // printf '%s': no newline
    writeFileSync(join(dir, 'cause.txt'), 'line one\nline two — ünïcode\n');
    writeFileSync(join(dir, 'in.yaml'), `taskToken: ${token}\nerror: FromYaml\ncause: "yaml cause"\n`);
    const published = async (args: string[]) => {
      const r = await cli(['send-task-failure', ...args], { SOURCE_QUEUE_URL: source });
      expect(r.code, r.stderr).toBe(0);
      const [m] = await drainQueue(emu.sqs.client, source);
      return JSON.parse(m?.Body ?? 'null') as unknown;
    };
    const viaFiles = [
      '--task-token',
      `file://${join(dir, 'token.txt')}`,
      '--error',
      'E1',
      '--cause',
      `file://${join(dir, 'cause.txt')}`,
    ];
    expect(await published(viaFiles)).toEqual(await awsCliBody(viaFiles));
    const viaYaml = ['--cli-input-yaml', `file://${join(dir, 'in.yaml')}`, '--error', 'Overridden'];
    expect(await published(viaYaml)).toEqual(await awsCliBody(viaYaml));
    const inlineJson = [
      '--cli-input-json',
      JSON.stringify({ taskToken: token, cause: 'c' }),
      '--cause',
      `file://${join(dir, 'cause.txt')}`,
    ];
    expect(await published(inlineJson)).toEqual(await awsCliBody(inlineJson));
  });

  it('publishes an event that the relay consumes and that fails its execution', async () => {
    const source = await emu.sqs.createQueue('cli-source');
    const dlq = await emu.sqs.createQueue('cli-dlq');
    const machine = await createActivityMachine(emu.sfn.client, 'cli');
    const [task, second] = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const dir = tempDir('sfn-relay-');
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
    expect(sent.stdout).toMatch(/^MessageId: [0-9a-f-]{36}\n$/);
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

    const service = await startInProcess(emu, { source, dlq });
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
    const rows = JSON.parse(listed.stdout) as { reason: string; tokenHash: string; error: string; body: string }[];
    expect(rows).toHaveLength(50);
    expect(rows[0]).toMatchObject({ reason: 'sfn_invalid_token', tokenHash: 'abcdef123456' });
    // Tokens are bearer credentials: masked unless asked for.
    expect(listed.stdout).not.toMatch(/token-\d+/);
    expect(rows[0]?.body).toMatch(/^\{"taskToken":"<token [0-9a-f]{12}>","error":"E\d+"\}$/);
    const shownTokens = await cli(['dlq', 'list', '--json', '--reason', 'sfn_invalid_token', '--show-tokens'], env);
    expect(shownTokens.stdout).toMatch(/"taskToken\\":\\"token-4[5-9]\d\\"/);
    const inspected = await cli(['dlq', 'inspect', '--reason', 'sfn_invalid_token', '--max', '500'], env);
    expect(inspected.stdout).not.toMatch(/token-\d+/);
    expect(inspected.stdout).toMatch(/attributes:\n\s+producer \(String\): p\d+/);
    const table = await cli(['dlq', 'list', '--max', '20'], env);
    expect(table.stdout).toMatch(/^REASON\s+RECV\s+AGE\s+TOKEN\s+ERROR$/m);
    expect(table.stdout).toMatch(/retries_exhausted\s+5\s+\d+s\s+abcdef123456\s+E\d+/);
    expect(table.stdout).toContain('20 message(s)');
    // Listing consumed nothing and handed visibility back.
    expect(queueCounts(emu.sqs.server, 'redrive-dlq')).toMatchObject({ ready: 500, inflight: 0 });

    const dry = await cli(['dlq', 'redrive', '--dry-run', '--reason', 'retries_exhausted'], env);
    expect(dry.stdout).toMatch(/^would move 450, skipped 50/m);
    expect(queueCounts(emu.sqs.server, 'redrive-source').total).toBe(0);

    // Without --force, what can never succeed stays, with the reason why.
    const moved = await cli(['dlq', 'redrive'], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /^moved 450, skipped 0 \(filtered\), left 50 that cannot succeed \(sfn_invalid_token 50: Step Functions refused the token; the same token will be refused again; add --force to move them anyway\), failed 0/m,
    );
    const forced = await cli(['dlq', 'redrive', '--reason', 'sfn_invalid_token', '--force'], env);
    expect(forced.stdout).toMatch(/^moved 50, skipped 0 \(filtered\), failed 0/m);
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
      JSON.stringify({
        Type: 'Notification',
        Message: JSON.stringify({ specversion: '1.0', id: '1', source: '/w', type: 't', data: { taskToken: 'x' } }),
      }),
      JSON.stringify({
        Type: 'Notification',
        Message: JSON.stringify({
          specversion: '1.0',
          id: '1',
          source: '/w',
          type: 't',
          datacontenttype: 'text/plain',
          data: 'x',
        }),
      }),
    ].join('\n');
    const r = await cli(['validate', '-'], {}, input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        'line 1: valid failure (plain)',
        'line 2: invalid body_not_json: body has no valid JSON',
        'line 3: valid failure (sns)',
        'line 4: invalid token_invalid_character: "taskToken" contains U+0009 at index 1',
        'line 5: valid failure (sns>cloudevent)',
        'line 6: invalid cloudevent_data_not_json: CloudEvent "datacontenttype" (a 10-character string) is not JSON (in sns>cloudevent)',
        '',
      ].join('\n'),
    );
    const one = await cli(['validate'], {}, '{\n  "taskToken": "abc"\n}\n');
    expect(one).toMatchObject({ code: 0, stdout: 'line 1: valid failure (plain)\n' });
  });

  it('redrives a snapshot while the relay runs: it ends, moves each message once, and leaves what comes back', async () => {
    const source = await emu.sqs.createQueue('running-source');
    const dlq = await emu.sqs.createQueue('running-dlq');
    const machine = await createActivityMachine(emu.sfn.client, 'running');
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const now = new Date().toISOString();
    const dead = (i: number, body: object | string, reason: DeadLetterReason) =>
      deadLetterEntry(
        String(i),
        { MessageId: `m${i}`, Body: typeof body === 'string' ? body : JSON.stringify(body) },
        {
          reason,
          detail: 'test',
          sourceMessageId: `m${i}`,
          receiveCount: 5,
          firstReceivedAt: now,
          deadLetteredAt: now,
        },
      ).entry;
    const entries = [
      dead(0, { taskToken: 'unknown-token-a', error: 'A' }, 'sfn_invalid_token'),
      // Stepfunctions-local answers TaskDoesNotExist: the relay dead-letters it again at once.
      dead(1, { taskToken: '00000000-0000-4000-8000-000000000001', error: 'B' }, 'retries_exhausted'),
      ...tasks.map((t, i) => dead(2 + i, { taskToken: t.token, error: `R${i}` }, 'retries_exhausted')),
      ...Array.from({ length: 21 }, (_, i) => dead(10 + i, `not json ${i}`, 'body_not_json')),
    ];
    await publish(
      emu.sqs.client,
      dlq,
      entries.map((e) => ({ body: e.MessageBody ?? '', attributes: e.MessageAttributes ?? {} })),
    );
    const service = await startInProcess(emu, { source, dlq });
    try {
      const started = Date.now();
      const r = await cli(['dlq', 'redrive'], { DLQ_URL: dlq, SOURCE_QUEUE_URL: source }, undefined, 30_000);
      process.stdout.write(`\nredrive with the relay running: ${r.stdout.trim()} (${Date.now() - started} ms)\n`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /^moved 3, skipped 0 \(filtered\), left 22 that cannot succeed \(sfn_invalid_token 1: .*; body_not_json 21: /m,
      );
      const returned = /(\d+) came back while running/.exec(r.stdout)?.[1];
      if (returned !== undefined) expect(returned).toBe('1');
      // The two real tasks failed once; B is back in the DLQ once, with the relay's new reason.
      await waitForFailedOnce(emu.sfn.client, tasks);
      await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, 'running-source').total === 0);
      const left = await drainQueue(emu.sqs.client, dlq);
      expect(left).toHaveLength(23);
      const reasons = left.map((m) => readDeadLetterInfo(m)?.reason).sort();
      expect(reasons.filter((x) => x === 'sfn_task_does_not_exist')).toHaveLength(1);
      expect(reasons.filter((x) => x === 'retries_exhausted')).toHaveLength(0);

      // --force: everything goes, the relay sends all of it straight back, and the redrive still
      // ends after its snapshot, each message moved once (this looped forever before).
      await emu.sqs.client.send(new PurgeQueueCommand({ QueueUrl: dlq }));
      await publish(
        emu.sqs.client,
        dlq,
        left.map((m) => ({ body: m.Body ?? '', attributes: m.MessageAttributes ?? {} })),
      );
      const forced = await cli(
        ['dlq', 'redrive', '--force'],
        { DLQ_URL: dlq, SOURCE_QUEUE_URL: source },
        undefined,
        30_000,
      );
      process.stdout.write(`redrive --force with the relay running: ${forced.stdout.trim()}\n`);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(/^moved 23, skipped 0 \(filtered\)/m);
      await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, 'running-source').total === 0);
      await waitFor('all 23 back in the DLQ', () => queueCounts(emu.sqs.server, 'running-dlq').total === 23);
      expect((await drainQueue(emu.sqs.client, dlq)).length).toBe(23);
    } finally {
      await service.stop();
    }
  });
});
