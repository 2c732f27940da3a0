/**
 * Bench child: an always-200 stand-in for Step Functions (so the consumer, not an emulator, is
 * measured) and a no-op OTLP collector. Counts the callback calls (SendTaskFailure, SendTaskSuccess,
 * SendTaskHeartbeat: in all and by operation) per token and, for latency
 * runs, when each token first arrived. IPC: {type:'stats'}, {type:'arrivals'}, {type:'reset'}.
 */
import { createServer } from 'node:http';

let calls = 0;
const byOperation = new Map<string, number>();
const perToken = new Map<string, number>();
const arrivals = new Map<string, number>();
let traceExports = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url?.startsWith('/v1/')) {
      traceExports += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = /\.(SendTask(?:Failure|Success|Heartbeat))$/.exec(target)?.[1];
    if (operation !== undefined) {
      calls += 1;
      byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
      const body = Buffer.concat(chunks).toString('utf8');
      // The token is the first field the SDK serialises; a regex is cheaper than JSON.parse here.
      const token = /"taskToken":"([^"]*)"/.exec(body)?.[1] ?? '';
      perToken.set(token, (perToken.get(token) ?? 0) + 1);
      if (!arrivals.has(token)) arrivals.set(token, performance.timeOrigin + performance.now());
    }
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'bench' }).end('{}');
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (msg: { id: number; type: string }) => {
  let reply: unknown;
  if (msg.type === 'stats') {
    let max = 0;
    for (const n of perToken.values()) max = Math.max(max, n);
    reply = {
      calls,
      byOperation: Object.fromEntries(byOperation),
      uniqueTokens: perToken.size,
      maxPerToken: max,
      traceExports,
    };
  } else if (msg.type === 'arrivals') {
    reply = Object.fromEntries(arrivals);
  } else if (msg.type === 'reset') {
    calls = 0;
    byOperation.clear();
    traceExports = 0;
    perToken.clear();
    arrivals.clear();
    reply = true;
  }
  process.send?.({ id: msg.id, reply });
});

// The bench gone (however it ended), nothing is left to serve: no orphan outlives it.
process.once('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address !== null ? address.port : 0 });
});
