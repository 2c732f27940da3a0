/**
 * What the queues' own settings say about who can write tokens into them and how they are kept:
 * the source queue's `Policy` read against what the allowlist's rules assume, and server-side
 * encryption on both queues (the DLQ keeps bodies, tokens included). Each is one start-up line and
 * a field of `/readyz` (`queue_security`); neither stops the relay. docs/security.md says why.
 *
 * The policy is read, not evaluated: an IAM principal of the queue's own account with
 * `sqs:SendMessage` in its identity policy may send whatever the queue policy allows, unless a
 * Deny statement in the queue policy stops it, so that is what "restricted" asks for.
 */
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import type { AllowlistSettings } from '../admission/allowlist.js';
import { deniesOthers, list, PINS, pins, principals, SERVICE_PINS, type Statement, sends } from './policyStatement.js';
import type { Check } from './preflight.js';

/** What the configured rules take on trust from the queue policy. */
export interface PolicyExpectations {
  /** The allowlist is on at all. */
  allowlist: boolean;
  /** Services whose deliveries a rule admits on unsigned text: their statements must be pinned. */
  trustedServices: string[];
  /** An unsigned rule admits on its own (TRUST_QUEUE_POLICY=true, or SNS_VERIFY_SIGNATURES=false). */
  trustsPolicy: boolean;
}

export function policyExpectations(a: AllowlistSettings | undefined): PolicyExpectations {
  if (a === undefined) return { allowlist: false, trustedServices: [], trustsPolicy: false };
  const services: string[] = [];
  if (a.trustQueuePolicy && a.eventBridgeSources.length + a.eventBridgeAccounts.length > 0) {
    services.push('events.amazonaws.com');
  }
  if (a.snsTopics.length > 0 && !a.verifySnsSignatures) services.push('sns.amazonaws.com');
  return { allowlist: true, trustedServices: services, trustsPolicy: a.trustQueuePolicy || services.length > 0 };
}

export interface PolicyReport {
  policy: 'none' | 'present' | 'unreadable';
  /** Statements that let any principal send with no condition naming who or what. */
  openToEveryone: string[];
  /** Service principals allowed to send, and whether aws:SourceArn / aws:SourceAccount pins them. */
  services: { principal: string; pinned: boolean }[];
  /** A Deny of SendMessage for principals a condition leaves out (same-account identities included). */
  deniesOthers: boolean;
}

export function readPolicy(text: string | undefined): PolicyReport {
  const report: PolicyReport = { policy: 'none', openToEveryone: [], services: [], deniesOthers: false };
  if (text === undefined || text.trim() === '') return report;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ...report, policy: 'unreadable' };
  }
  report.policy = 'present';
  // Each statement with its place in the policy (the label of one without a Sid).
  const statements = list((doc as { Statement?: unknown } | null)?.Statement).map((raw) =>
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Statement) : {},
  );
  const allowed = new Map<string, Set<string>>();
  statements.forEach((st, i) => {
    if (st.Effect !== 'Allow' || !sends(st)) return;
    const label = typeof st.Sid === 'string' && st.Sid !== '' ? st.Sid : `#${i + 1}`;
    const who = principals(st);
    const servicePins = pins(st, SERVICE_PINS);
    for (const [key, values] of servicePins) allowed.set(key, new Set([...(allowed.get(key) ?? []), ...values]));
    if (who.everyone && pins(st, PINS).size === 0) report.openToEveryone.push(label);
    const pinned = servicePins.size > 0;
    for (const principal of who.services) report.services.push({ principal, pinned });
    // The older form for SNS and EventBridge: anyone, provided the source is the topic or rule.
    if (who.everyone && pinned) report.services.push({ principal: '*', pinned });
  });
  report.deniesOthers = statements.some((st) => deniesOthers(st, allowed));
  return report;
}

/** The one line about the source queue's policy. */
export function policyCheck(r: PolicyReport, e: PolicyExpectations): Check {
  const name = 'queue_policy';
  if (r.policy === 'unreadable') {
    return { name, level: 'warn', message: 'the source queue policy is not JSON the relay can read' };
  }
  const facts: string[] = [];
  if (r.policy === 'none') facts.push('no queue policy: only principals of its own account with sqs:SendMessage send');
  if (r.openToEveryone.length > 0) facts.push(`lets anyone send (statement ${r.openToEveryone.join(', ')})`);
  for (const s of r.services)
    facts.push(`lets ${s.principal} send ${s.pinned ? 'pinned by' : 'without'} aws:SourceArn/aws:SourceAccount`);
  facts.push(r.deniesOthers ? 'denies SendMessage to principals a condition leaves out' : 'denies no one');
  const unpinned = e.trustedServices.filter((svc) => {
    const own = r.services.filter((s) => s.principal === svc);
    if (own.some((s) => !s.pinned)) return true;
    return own.length === 0 && !r.services.some((s) => s.principal === '*');
  });
  const text = `the source queue's policy: ${facts.join('; ')}`;
  if (e.trustsPolicy && (r.openToEveryone.length > 0 || unpinned.length > 0)) {
    const what = unpinned.length > 0 ? `no statement pins ${unpinned.join(', ')} by aws:SourceArn` : 'anyone may send';
    return {
      name,
      level: 'error',
      message: `${text}: the allowlist trusts it, but ${what}, so messages can be forged`,
    };
  }
  if (e.trustsPolicy && !r.deniesOthers) {
    return {
      name,
      level: 'warn',
      message: `${text}: the allowlist trusts it, but any principal of the account with sqs:SendMessage can write an envelope the unsigned rules admit; add a Deny for other principals`,
    };
  }
  if (e.allowlist && r.openToEveryone.length > 0) {
    return { name, level: 'warn', message: `${text}: anyone may send; only ALLOWED_SENDERS and signed SNS admit` };
  }
  return { name, level: 'ok', message: e.allowlist ? `${text}: as the allowlist assumes` : text };
}

export type Sse = 'SSE-SQS' | 'SSE-KMS' | 'off';

export function sseOf(a: Record<string, string>): Sse {
  if (a.KmsMasterKeyId !== undefined && a.KmsMasterKeyId !== '') return 'SSE-KMS';
  return a.SqsManagedSseEnabled === 'true' ? 'SSE-SQS' : 'off';
}

export function encryptionCheck(source: Sse, dlq: Sse): Check {
  const off = [source === 'off' ? 'SOURCE_QUEUE_URL' : '', dlq === 'off' ? 'DLQ_URL' : ''].filter((q) => q !== '');
  return off.length === 0
    ? { name: 'queue_encryption', level: 'ok', message: `server-side encryption: source ${source}, DLQ ${dlq}` }
    : {
        name: 'queue_encryption',
        level: 'warn',
        message: `${off.join(' and ')} ${off.length > 1 ? 'have' : 'has'} no server-side encryption, and messages there hold task tokens (the DLQ keeps them for its retention): turn on SSE-SQS, or SSE-KMS with a key only the producers and the relay may use`,
      };
}

/** What `/readyz` shows under `queue_security`. */
export interface QueueSecurity {
  /** No statement lets anyone send unconditionally, and every service allowed to send is pinned. */
  send_restricted: boolean;
  /** The policy restricts SendMessage the way the configured rules assume (the check is `ok`). */
  as_rules_assume: boolean;
  policy: PolicyReport['policy'];
  open_to_everyone: string[];
  unpinned_services: string[];
  denies_others: boolean;
  sse: { source: Sse; dlq: Sse };
}

const ATTRIBUTES: QueueAttributeName[] = ['Policy', 'SqsManagedSseEnabled', 'KmsMasterKeyId'];

/** Reads both queues; nothing when either cannot be read (the reachability checks say why). */
export async function queueSecurity(
  sqs: SQSClient,
  urls: { source: string; dlq: string },
  e: PolicyExpectations,
): Promise<{ checks: Check[]; security: QueueSecurity | undefined }> {
  const read = (url: string) =>
    sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ATTRIBUTES }))
      .then((o) => o.Attributes ?? {})
      .catch(() => undefined);
  const [source, dlq] = await Promise.all([read(urls.source), read(urls.dlq)]);
  if (source === undefined || dlq === undefined) return { checks: [], security: undefined };
  const report = readPolicy(source.Policy);
  const policy = policyCheck(report, e);
  const sse = { source: sseOf(source), dlq: sseOf(dlq) };
  const unpinned = report.services.filter((s) => !s.pinned).map((s) => s.principal);
  const security: QueueSecurity = {
    send_restricted: report.policy !== 'unreadable' && report.openToEveryone.length === 0 && unpinned.length === 0,
    as_rules_assume: policy.level === 'ok',
    policy: report.policy,
    open_to_everyone: report.openToEveryone,
    unpinned_services: unpinned,
    denies_others: report.deniesOthers,
    sse,
  };
  return { checks: [policy, encryptionCheck(sse.source, sse.dlq)], security };
}
