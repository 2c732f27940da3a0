/**
 * SQS "fair queues" (a MessageGroupId on a standard queue) in front of fauxqs, which keeps a group
 * only on FIFO queues: this proxy remembers the group of each message sent to a standard queue and
 * returns it on receive, as SQS does, and records every send, so a test can see the group the
 * relay and the CLI put on what they send, and every receive's answer (when, how many messages), so
 * a test can see when pollers receive.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedSend {
  target: 'SendMessage' | 'SendMessageBatch';
  queueUrl: string;
  entries: { MessageBody?: string; MessageGroupId?: string; MessageDeduplicationId?: string }[];
}

export interface RecordedReceive {
  at: number;
  messages: number;
}

export interface FairQueueProxy {
  endpoint: string;
  sends: RecordedSend[];
  receives: RecordedReceive[];
  stop(): Promise<void>;
}

interface Json {
  [k: string]: unknown;
}

export async function startFairQueueProxy(upstream: string): Promise<FairQueueProxy> {
  const target = new URL(upstream);
  const groups = new Map<string, string>();
  const sends: RecordedSend[] = [];
  const receives: RecordedReceive[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
      let input: Json = {};
      try {
        input = JSON.parse(body.toString('utf8')) as Json;
      } catch {
        input = {};
      }
      const entries = (
        op === 'SendMessage' ? [input] : ((input.Entries as Json[] | undefined) ?? [])
      ) as RecordedSend['entries'];
      if (op === 'SendMessage' || op === 'SendMessageBatch') {
        sends.push({ target: op, queueUrl: String(input.QueueUrl), entries });
      }
      const upstreamReq = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (upstreamRes) => {
          const out: Buffer[] = [];
          upstreamRes.on('data', (c: Buffer) => out.push(c));
          upstreamRes.on('end', () => {
            let text = Buffer.concat(out).toString('utf8');
            try {
              text = rewrite(op, entries, text);
            } catch {
              // not JSON: passed through
            }
            const headers = { ...upstreamRes.headers };
            delete headers['content-length'];
            res.writeHead(upstreamRes.statusCode ?? 502, headers).end(text);
          });
        },
      );
      upstreamReq.end(body);
    });
  });

  /** Remembers groups from send answers; adds them to receive answers. */
  function rewrite(op: string, entries: RecordedSend['entries'], text: string): string {
    const out = JSON.parse(text) as Json;
    if (op === 'SendMessage' && entries[0]?.MessageGroupId !== undefined) {
      groups.set(String(out.MessageId), entries[0].MessageGroupId);
    }
    if (op === 'SendMessageBatch') {
      const sent = (out.Successful as { Id: string; MessageId: string }[] | undefined) ?? [];
      const byId = new Map(entries.map((e) => [(e as { Id?: string }).Id, e]));
      for (const s of sent) {
        const group = byId.get(s.Id)?.MessageGroupId;
        if (group !== undefined) groups.set(s.MessageId, group);
      }
    }
    if (op === 'ReceiveMessage') {
      receives.push({ at: Date.now(), messages: ((out.Messages as Json[] | undefined) ?? []).length });
      for (const m of (out.Messages as Json[] | undefined) ?? []) {
        const group = groups.get(String(m.MessageId));
        if (group === undefined) continue;
        m.Attributes = { ...((m.Attributes as Json | undefined) ?? {}), MessageGroupId: group };
      }
    }
    return JSON.stringify(out);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sends,
    receives,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
