/**
 * The CLI's SQS batch calls (send, delete, change visibility), answered per entry: an entry SQS
 * refused is never counted as done, and a call that throws refuses every entry it carried. A send
 * whose answer never came (a timeout, a reset connection, a 5xx) is `unknown`, not refused: the
 * entries may have arrived.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { chunkEntries } from '../pipeline/deadLetter.js';

export interface Refused<T> {
  item: T;
  /** SQS's error code for the entry (`ReceiptHandleIsInvalid`), or the name of the call's error. */
  code: string;
}

interface EntryResults {
  Successful?: { Id?: string; MessageId?: string }[];
  Failed?: { Id?: string; Code?: string; SenderFault?: boolean }[];
}

interface Answer {
  /** Entry id → the answer's MessageId (send) or '' (delete, visibility). */
  ok: Map<string, string>;
  /**
   * Entry id → its failure; `retryable` when SQS says the fault was its own; `unknown` when no
   * answer says what became of it (the call threw without a 4xx answer, or the entry is in neither list).
   */
  failed: Map<string, { code: string; retryable: boolean; unknown: boolean }>;
}

/** One batch call; an entry in neither list of the answer counts as refused. */
async function call(ids: string[], send: () => Promise<EntryResults>): Promise<Answer> {
  const answer: Answer = { ok: new Map(), failed: new Map() };
  try {
    const out = await send();
    for (const s of out.Successful ?? []) answer.ok.set(s.Id ?? '', s.MessageId ?? '');
    for (const f of out.Failed ?? []) {
      answer.failed.set(f.Id ?? '', { code: f.Code ?? 'Unknown', retryable: f.SenderFault !== true, unknown: false });
    }
  } catch (err) {
    const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    const status = e?.$metadata?.httpStatusCode;
    // A 4xx answer refused the whole call; anything else (no answer, 5xx) may have done part of it.
    const unknown = status === undefined || status >= 500;
    for (const id of ids) {
      answer.failed.set(id, { code: e?.name ?? 'Error', retryable: e?.$fault !== 'client', unknown });
    }
  }
  for (const id of ids) {
    if (!answer.ok.has(id) && !answer.failed.has(id)) {
      answer.failed.set(id, { code: 'NoAnswer', retryable: true, unknown: true });
    }
  }
  return answer;
}

export interface SendAnswer {
  /** Entry id → the new message id. */
  sent: Map<string, string>;
  /** SQS refused them: not sent. */
  refused: Refused<string>[];
  /** No answer says what became of them: they may have arrived. */
  unknown: Refused<string>[];
}

/**
 * Sends in batches within SQS's limits (10 entries, the payload size); per entry: its new id,
 * refused, or unknown.
 */
export async function sendEntries(
  sqs: SQSClient,
  queueUrl: string,
  entries: SendMessageBatchRequestEntry[],
): Promise<SendAnswer> {
  const sent = new Map<string, string>();
  const refused: Refused<string>[] = [];
  const unknown: Refused<string>[] = [];
  for (const group of chunkEntries(entries)) {
    const ids = group.map((e) => e.Id ?? '');
    const a = await call(ids, () => sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: group })));
    for (const id of ids) {
      const newId = a.ok.get(id);
      const f = a.failed.get(id);
      if (newId !== undefined) sent.set(id, newId);
      else (f?.unknown === true ? unknown : refused).push({ item: id, code: f?.code ?? 'Unknown' });
    }
  }
  return { sent, refused, unknown };
}

/** Attempts per delete (the first included); each also bounded by the receipt handle's validity. */
export const DELETE_ATTEMPTS = 4;
const DELETE_BACKOFF_MS = 250;

export interface DeleteOptions {
  /** When the receipt handles stop being valid (received at + the visibility timeout). */
  validUntil: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Deletes messages, retrying an entry SQS failed on its own side (not `ReceiptHandleIsInvalid`
 * or another fault of the caller's) while its receipt handle is still valid. Ends by
 * DELETE_ATTEMPTS attempts or the handle's validity, whichever comes first.
 */
export async function deleteMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: Message[],
  o: DeleteOptions,
): Promise<{ deleted: Message[]; refused: Refused<Message>[] }> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deleted: Message[] = [];
  const refused: Refused<Message>[] = [];
  let pending = messages;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const again: Message[] = [];
    for (let i = 0; i < pending.length; i += 10) {
      const group = pending.slice(i, i + 10);
      const ids = group.map((_, j) => String(j));
      const a = await call(ids, () =>
        sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
          }),
        ),
      );
      group.forEach((m, j) => {
        const f = a.failed.get(String(j));
        if (f === undefined) deleted.push(m);
        else if (f.retryable && attempt < DELETE_ATTEMPTS) again.push(m);
        else refused.push({ item: m, code: f.code });
      });
    }
    const delay = DELETE_BACKOFF_MS * 2 ** (attempt - 1);
    if (again.length > 0 && now() + delay >= o.validUntil) {
      // The handles will have expired before the next attempt: these stay refused.
      refused.push(...again.map((m) => ({ item: m, code: 'ReceiptHandleExpiring' })));
      break;
    }
    pending = again;
    if (pending.length > 0) await sleep(delay);
  }
  return { deleted, refused };
}

/**
 * Makes held messages visible again; answers how many SQS refused (a handle that went stale: the
 * message was held longer than its visibility timeout, and is visible anyway).
 */
export async function handBackMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<number> {
  let refused = 0;
  for (let i = 0; i < messages.length; i += 10) {
    const group = messages.slice(i, i + 10);
    const ids = group.map((_, j) => String(j));
    const a = await call(ids, () =>
      sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      ),
    );
    refused += a.failed.size;
  }
  return refused;
}
