/**
 * A proxy of our own between the relay and the Step Functions emulator. It records every call
 * (the emulator answers 200 to a token used twice, so counting here is how tests prove "once"),
 * and it can inject the faults real Step Functions produces: ThrottlingException, 5xx, dropped
 * connections and outages.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'kmsThrottle' }
  | { kind: 'status'; status: number }
  | { kind: 'drop' }
  | { kind: 'accessDenied' }
  /** Never answered: the connection stays open until the client gives up. */
  | { kind: 'hang' }
  /** Forwarded, but only after `ms`: keeps calls in flight. */
  | { kind: 'delay'; ms: number }
  /** Forwarded, and Step Functions acts on it, but the answer is lost (connection reset). */
  | { kind: 'dropAfterForward' };

export interface ProxyCall {
  target: string;
  token: string | undefined;
  /** HTTP status the relay saw; 0 for a dropped connection. */
  status: number;
  /** Whether the call reached the emulator. */
  forwarded: boolean;
  fault: Fault['kind'] | undefined;
  at: number;
}

export interface SfnProxy {
  endpoint: string;
  calls: ProxyCall[];
  /** Decides per call whether to inject a fault (undefined: forward). */
  setFault(decide: ((call: { target: string; token: string | undefined }) => Fault | undefined) | undefined): void;
  /** Successful SendTaskFailure calls that reached the emulator, by token. */
  successesByToken(): Map<string, number>;
  /** SendTaskFailure calls that reached the emulator (whatever it answered), by token. */
  forwardedByToken(): Map<string, number>;
  stop(): Promise<void>;
}

function errorBody(type: string, message: string): string {
  return JSON.stringify({ __type: type, message });
}

function countByToken(calls: ProxyCall[], keep: (c: ProxyCall) => boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of calls) {
    if (c.target === 'SendTaskFailure' && c.forwarded && c.token !== undefined && keep(c)) {
      counts.set(c.token, (counts.get(c.token) ?? 0) + 1);
    }
  }
  return counts;
}

export async function startSfnProxy(upstream: string): Promise<SfnProxy> {
  const target = new URL(upstream);
  const calls: ProxyCall[] = [];
  let decide: ((call: { target: string; token: string | undefined }) => Fault | undefined) | undefined;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(req.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
      let token: string | undefined;
      try {
        token = (JSON.parse(body.toString('utf8')) as { taskToken?: string }).taskToken;
      } catch {
        token = undefined;
      }
      const call: ProxyCall = {
        target: amzTarget,
        token,
        status: 0,
        forwarded: false,
        fault: undefined,
        at: Date.now(),
      };
      calls.push(call);
      const fault = decide?.({ target: amzTarget, token });
      if (fault?.kind === 'delay') {
        call.fault = 'delay';
        setTimeout(forward, fault.ms);
        return;
      }
      if (fault?.kind === 'hang') {
        call.fault = 'hang';
        return;
      }
      if (fault?.kind === 'dropAfterForward') {
        call.fault = 'dropAfterForward';
        forward(true);
        return;
      }
      if (fault !== undefined) {
        call.fault = fault.kind;
        if (fault.kind === 'drop') {
          req.socket.destroy();
          return;
        }
        const [status, type, message] =
          fault.kind === 'throttle'
            ? [400, 'ThrottlingException', 'Rate exceeded']
            : fault.kind === 'kmsThrottle'
              ? [400, 'KmsThrottlingException', 'KMS rate exceeded']
              : fault.kind === 'accessDenied'
                ? [400, 'AccessDeniedException', 'not authorized']
                : [fault.status, 'ServiceUnavailable', 'injected'];
        call.status = status;
        res
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type })
          .end(errorBody(type, message));
        return;
      }
      forward();
      function forward(_dropAnswer = false): void {
        const upstreamReq = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
          },
          (upstreamRes) => {
            call.forwarded = true;
            call.status = upstreamRes.statusCode ?? 0;
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            upstreamRes.pipe(res);
          },
        );
        upstreamReq.on('error', () => {
          call.status = 502;
          res
            .writeHead(502, { 'content-type': 'application/x-amz-json-1.0' })
            .end(errorBody('ServiceUnavailable', 'upstream'));
        });
        upstreamReq.end(body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    setFault(d) {
      decide = d;
    },
    successesByToken: () => countByToken(calls, (c) => c.status === 200),
    forwardedByToken: () => countByToken(calls, () => true),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
