/**
 * Bench child: fauxqs (SQS) in a process of its own, counting every request at the endpoint by
 * operation. Talks to the harness over IPC: {type:'counts'} → counts since the last reset,
 * {type:'depth', name} → messages in the queue (ready + delayed + in flight), {type:'reset'}.
 */
import http from 'node:http';

const counts = new Map<string, number>();
const createServer = http.createServer;
// fauxqs builds its server with http.createServer: count requests there, before routing.
(http as { createServer: typeof http.createServer }).createServer = ((...args: Parameters<typeof createServer>) => {
  const server = createServer(...args);
  server.prependListener('request', (req: http.IncomingMessage) => {
    const op = String(req.headers['x-amz-target'] ?? 'other').replace('AmazonSQS.', '');
    counts.set(op, (counts.get(op) ?? 0) + 1);
  });
  return server;
}) as typeof http.createServer;

const { startFauxqs } = await import('fauxqs');
const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });

process.on('message', (msg: { id: number; type: string; name?: string }) => {
  let reply: unknown;
  if (msg.type === 'counts') reply = Object.fromEntries(counts);
  else if (msg.type === 'reset') {
    counts.clear();
    reply = true;
  } else if (msg.type === 'depth') {
    const q = server.inspectQueue(msg.name ?? '');
    reply = q === undefined ? -1 : q.messages.ready.length + q.messages.delayed.length + q.messages.inflight.length;
  }
  process.send?.({ id: msg.id, reply });
});
// The bench gone (however it ended), nothing is left to serve: no orphan outlives it.
process.once('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port: server.port });
