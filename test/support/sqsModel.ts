/**
 * An in-memory SQS that enforces the rules real SQS enforces and the emulators skip: the character
 * set of bodies *and* String attribute values, the message size with attributes counted as SQS
 * counts them (name + type + value), at most 10 entries and 1 MiB per batch, visibility and receive
 * counts, FIFO group locking and deduplication, and per-entry failures in batch calls. Its clock is
 * virtual (`advance`). It answers the relay's SDK calls through `client.send(command)`; every call
 * that breaks a rule is recorded in `violations` (a relay that follows the rules leaves it empty);
 * refusals a test injects through `faults` are not violations.
 */
import type {
  ChangeMessageVisibilityBatchRequestEntry,
  DeleteMessageBatchRequestEntry,
  Message,
  MessageAttributeValue,
  SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';

const BATCH_MAX_ENTRIES = 10;
const BATCH_MAX_BYTES = 1_048_576;
const MAX_VISIBILITY_SECONDS = 43_200;
const FIFO_DEDUP_WINDOW_MS = 5 * 60_000;

/** Whether SQS accepts the text: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF. */
export function sqsAccepts(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i += 1;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c === 0x9 || c === 0xa || c === 0xd) continue;
    if (c < 0x20 || c === 0xfffe || c === 0xffff) return false;
  }
  return true;
}

/** The size SQS counts: body plus each attribute's name, data type and value, in UTF-8 bytes. */
export function sqsSize(body: string, attributes: Record<string, MessageAttributeValue> | undefined): number {
  let n = Buffer.byteLength(body);
  for (const [name, v] of Object.entries(attributes ?? {})) {
    n += Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '');
    n += v.StringValue === undefined ? 0 : Buffer.byteLength(v.StringValue);
    n += v.BinaryValue === undefined ? 0 : v.BinaryValue.length;
  }
  return n;
}

interface Stored {
  id: string;
  body: string;
  attributes: Record<string, MessageAttributeValue> | undefined;
  group: string | undefined;
  sentAt: number;
  visibleAt: number;
  receives: number;
  firstReceiveAt: number | undefined;
  receipt: string | undefined;
}

export interface ModelQueue {
  url: string;
  fifo: boolean;
  maxMessageBytes: number;
  messages: Stored[];
  dedupSeen: Map<string, number>;
}

/** Refusals a test injects: a code refuses the entry, or (for `'call'`) throws for the whole call. */
export interface ModelFaults {
  /** Asked once per call and entry; `op` is the command's name. */
  decide(op: string, queueUrl: string, entryIndex: number | 'call'): string | undefined;
  /** Milliseconds the call takes (SQS's own retries can hold a call for seconds); none when absent. */
  latencyMs?(op: string): number;
}

export class SqsModel {
  now = 1_800_000_000_000;
  readonly queues = new Map<string, ModelQueue>();
  readonly violations: string[] = [];
  /** Receipt handles of batches the driver has settled: a visibility change on one comes too late. */
  readonly closed = new Set<string>();
  faults: ModelFaults = { decide: () => undefined };
  #seq = 0;

  readonly client = { send: (command: object) => this.#dispatch(command) } as unknown as SQSClient;

  createQueue(url: string, o: { fifo: boolean; maxMessageBytes: number }): ModelQueue {
    const q: ModelQueue = { url, ...o, messages: [], dedupSeen: new Map() };
    this.queues.set(url, q);
    return q;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** When the next invisible message of `url` becomes visible, if any. */
  nextVisibleAt(url: string): number | undefined {
    const times = this.#queue(url).messages.map((m) => m.visibleAt);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  #queue(url: string | undefined): ModelQueue {
    const q = this.queues.get(url ?? '');
    if (q === undefined) throw Object.assign(new Error(`no queue ${url}`), { name: 'QueueDoesNotExist' });
    return q;
  }

  #violation(what: string): string {
    this.violations.push(what);
    return what;
  }

  /** One entry's refusal by rule (recorded as a violation), or undefined when SQS takes it. */
  #check(q: ModelQueue, e: SendMessageBatchRequestEntry): string | undefined {
    if (!sqsAccepts(e.MessageBody ?? '')) return 'InvalidMessageContents';
    const attrs = Object.entries(e.MessageAttributes ?? {});
    if (attrs.length > 10) return 'InvalidParameterValue: more than 10 attributes';
    for (const [name, v] of attrs) {
      if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(aws\.|amazon\.)/i.test(name))
        return `InvalidParameterValue: name ${name}`;
      if (!/^(String|Number|Binary)(\..+)?$/.test(v.DataType ?? '')) return `InvalidParameterValue: type of ${name}`;
      if (v.StringValue !== undefined && (v.StringValue === '' || !sqsAccepts(v.StringValue))) {
        return `InvalidParameterValue: value of ${name}`;
      }
    }
    if (sqsSize(e.MessageBody ?? '', e.MessageAttributes) > q.maxMessageBytes)
      return `InvalidParameterValue: too long (body ${Buffer.byteLength(e.MessageBody ?? '')} bytes)`;
    if (q.fifo && (e.MessageGroupId === undefined || e.MessageDeduplicationId === undefined)) return 'MissingParameter';
    if (!q.fifo && e.MessageDeduplicationId !== undefined) return 'InvalidParameterValue: deduplication id';
    return undefined;
  }

  /** Puts a message in a queue as a producer would (checked by the same rules; throws when refused). */
  produce(url: string, e: Omit<SendMessageBatchRequestEntry, 'Id'>): void {
    const q = this.#queue(url);
    const refusal = this.#check(q, { Id: 'p', ...e });
    if (refusal !== undefined) throw new Error(`the model refuses the produced message: ${refusal}`);
    this.#enqueue(q, { Id: 'p', ...e });
  }

  #enqueue(q: ModelQueue, e: SendMessageBatchRequestEntry): void {
    if (q.fifo) {
      const seen = q.dedupSeen.get(e.MessageDeduplicationId ?? '');
      if (seen !== undefined && this.now - seen < FIFO_DEDUP_WINDOW_MS) return;
      q.dedupSeen.set(e.MessageDeduplicationId ?? '', this.now);
    }
    this.#seq += 1;
    q.messages.push({
      id: `m-${this.#seq}`,
      body: e.MessageBody ?? '',
      attributes: e.MessageAttributes,
      group: e.MessageGroupId,
      sentAt: this.now,
      visibleAt: this.now + (e.DelaySeconds ?? 0) * 1000,
      receives: 0,
      firstReceiveAt: undefined,
      receipt: undefined,
    });
  }

  receive(url: string, max: number, visibilitySeconds: number): Message[] {
    const q = this.#queue(url);
    if (max < 1 || max > BATCH_MAX_ENTRIES) this.#violation(`ReceiveMessage: MaxNumberOfMessages ${max}`);
    const busyGroups = new Set(q.messages.filter((m) => m.visibleAt > this.now && m.group).map((m) => m.group));
    const out: Message[] = [];
    for (const m of q.messages) {
      if (out.length === max) break;
      if (m.visibleAt > this.now) continue;
      // FIFO: no message of a group while another of it is in flight (from an earlier receive).
      if (q.fifo && busyGroups.has(m.group)) continue;
      m.receives += 1;
      m.firstReceiveAt ??= this.now;
      m.visibleAt = this.now + visibilitySeconds * 1000;
      this.#seq += 1;
      m.receipt = `${m.id}#${this.#seq}`;
      out.push({
        MessageId: m.id,
        ReceiptHandle: m.receipt,
        Body: m.body,
        ...(m.attributes === undefined ? {} : { MessageAttributes: m.attributes }),
        Attributes: {
          ApproximateReceiveCount: String(m.receives),
          ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt),
          SentTimestamp: String(m.sentAt),
          ...(m.group === undefined ? {} : { MessageGroupId: m.group }),
        },
      });
    }
    return out;
  }

  async #dispatch(command: object): Promise<unknown> {
    // The SDK's commands are classes named after the operation; the relay passes them as they are.
    const op = command.constructor.name.replace(/Command$/, '');
    const input = (command as { input: Record<string, unknown> }).input;
    const latency = this.faults.latencyMs?.(op) ?? 0;
    await (latency > 0 ? new Promise((resolve) => setTimeout(resolve, latency)) : Promise.resolve());
    const q = this.#queue(input.QueueUrl as string);
    const callFault = this.faults.decide(op, q.url, 'call');
    if (callFault !== undefined) throw Object.assign(new Error(`injected ${callFault}`), { name: callFault });
    const entries = (input.Entries ?? []) as { Id?: string }[];
    if ('Entries' in input) {
      if (entries.length === 0 || entries.length > BATCH_MAX_ENTRIES) {
        throw Object.assign(new Error(this.#violation(`${op}: ${entries.length} entries`)), {
          name: 'TooManyEntriesInBatchRequest',
        });
      }
      if (new Set(entries.map((e) => e.Id)).size !== entries.length) this.#violation(`${op}: ids not distinct`);
    }
    switch (op) {
      case 'SendMessageBatch':
        return this.#sendBatch(q, entries as SendMessageBatchRequestEntry[]);
      case 'DeleteMessageBatch':
        return this.#perEntry(op, q, entries as DeleteMessageBatchRequestEntry[], (e) => this.#delete(q, e));
      case 'ChangeMessageVisibilityBatch':
        return this.#perEntry(op, q, entries as ChangeMessageVisibilityBatchRequestEntry[], (e) =>
          this.#visibility(q, e),
        );
      case 'GetQueueAttributes':
        // The relay reads the DLQ's limit again after a refused send (src/pipeline/dlqLimit.ts).
        return { Attributes: { MaximumMessageSize: String(q.maxMessageBytes) } };
      default:
        throw new Error(`the model does not answer ${op}`);
    }
  }

  #sendBatch(q: ModelQueue, entries: SendMessageBatchRequestEntry[]): unknown {
    const total = entries.reduce((n, e) => n + sqsSize(e.MessageBody ?? '', e.MessageAttributes), 0);
    if (total > BATCH_MAX_BYTES) {
      throw Object.assign(new Error(this.#violation(`SendMessageBatch: ${total} bytes`)), {
        name: 'BatchRequestTooLong',
      });
    }
    return this.#perEntry('SendMessageBatch', q, entries, (e) => {
      const refusal = this.#check(q, e);
      if (refusal === undefined) {
        this.#enqueue(q, e);
        return undefined;
      }
      // Recorded as a violation; answered with SQS's code, as SQS would.
      this.#violation(`SendMessageBatch to ${q.url}: ${refusal}`);
      return refusal;
    });
  }

  #perEntry<E extends { Id?: string }>(
    op: string,
    q: ModelQueue,
    entries: E[],
    apply: (e: E) => string | undefined,
  ): { Successful: { Id: string }[]; Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] } {
    const Successful: { Id: string }[] = [];
    const Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
    entries.forEach((e, i) => {
      const code = this.faults.decide(op, q.url, i) ?? apply(e);
      if (code === undefined) Successful.push({ Id: e.Id ?? '' });
      else Failed.push({ Id: e.Id ?? '', Code: code.split(':')[0] ?? code, Message: code, SenderFault: true });
    });
    return { Successful, Failed };
  }

  #byReceipt(q: ModelQueue, receipt: string | undefined): Stored | undefined {
    return q.messages.find((m) => m.receipt === receipt);
  }

  #delete(q: ModelQueue, e: DeleteMessageBatchRequestEntry): string | undefined {
    const m = this.#byReceipt(q, e.ReceiptHandle);
    // Deleting a message already gone succeeds (SQS is idempotent here); a stale receipt does not.
    if (m === undefined)
      return q.messages.some((x) => e.ReceiptHandle?.startsWith(`${x.id}#`)) ? 'ReceiptHandleIsInvalid' : undefined;
    q.messages.splice(q.messages.indexOf(m), 1);
    return undefined;
  }

  #visibility(q: ModelQueue, e: ChangeMessageVisibilityBatchRequestEntry): string | undefined {
    const t = e.VisibilityTimeout ?? -1;
    if (!Number.isInteger(t) || t < 0 || t > MAX_VISIBILITY_SECONDS) {
      return this.#violation(`ChangeMessageVisibility: VisibilityTimeout ${t}`);
    }
    if (this.closed.has(e.ReceiptHandle ?? '')) {
      return this.#violation(`ChangeMessageVisibility(${t}) after its batch was settled`);
    }
    const m = this.#byReceipt(q, e.ReceiptHandle);
    if (m === undefined || m.visibleAt <= this.now) return 'MessageNotInflight';
    m.visibleAt = this.now + t * 1000;
    return undefined;
  }
}
