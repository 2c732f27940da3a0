/**
 * The allowlist's settings from the environment: comma-separated lists, each entry checked so a
 * mistake fails at start-up with one line naming the variable — above all the commonest one, a
 * role ARN where SQS reports a role id.
 */
import { type AllowlistSettings, type Pattern, pattern, senderPattern } from './allowlist.js';

export interface AdmissionEnv {
  ALLOWED_SENDERS?: string | undefined;
  ALLOWED_SNS_TOPICS?: string | undefined;
  ALLOWED_EVENTBRIDGE_SOURCES?: string | undefined;
  ALLOWED_EVENTBRIDGE_ACCOUNTS?: string | undefined;
  ALLOWED_CLOUDEVENT_SOURCES?: string | undefined;
  SNS_VERIFY_SIGNATURES?: 'true' | 'false' | undefined;
  SNS_SIGNING_CERT_FILE?: string | undefined;
  TRUST_QUEUE_POLICY?: 'true' | 'false' | undefined;
}

export interface AdmissionSettings {
  allowlist: AllowlistSettings;
  /** PEM certificate(s) SNS signatures are checked against instead of fetching SigningCertURL. */
  snsCertFile: string | undefined;
}

type Problem = [variable: string, message: string];

const LIST_ENTRY = /^[A-Za-z0-9:._@=,+\-*/#~]+$/;

function entries(raw: string | undefined): string[] {
  return raw === undefined ? [] : raw.split(',').map((e) => e.trim());
}

/** Checks one entry; a message for the first problem, or undefined. */
type Check = (entry: string) => string | undefined;

const common: Check = (entry) => {
  if (entry === '') return 'has an empty entry (two commas, or a trailing comma)';
  if (/^\*+$/.test(entry)) return `has "${entry}", which allows everyone: unset the variable instead`;
  if (!LIST_ENTRY.test(entry)) return `has ${JSON.stringify(entry)}, which has a character no such value has`;
  return undefined;
};

const senderCheck: Check = (entry) => {
  if (entry.startsWith('arn:')) {
    return `has the ARN ${JSON.stringify(entry)}, but SenderId holds the principal's unique id, not its ARN: use the role id with any session ("AROA…:*"; aws iam get-role --role-name NAME --query Role.RoleId) or the user id (aws iam get-user --user-name NAME --query User.UserId)`;
  }
  return undefined;
};

const topicCheck: Check = (entry) =>
  /^arn:aws[a-z-]*:sns:[^:]+:[^:]+:[^:]+$/.test(entry)
    ? undefined
    : `has ${JSON.stringify(entry)}, which is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>, * allowed)`;

const accountCheck: Check = (entry) =>
  /^[0-9]{12}$/.test(entry) ? undefined : `has ${JSON.stringify(entry)}, which is not a 12-digit account id`;

function list(
  problems: Problem[],
  variable: string,
  raw: string | undefined,
  checks: Check[],
  make: (e: string) => Pattern = pattern,
): Pattern[] {
  const out: Pattern[] = [];
  for (const entry of entries(raw)) {
    const problem = [common, ...checks].map((c) => c(entry)).find((m) => m !== undefined);
    if (problem !== undefined) {
      problems.push([variable, problem]);
      return [];
    }
    out.push(make(entry));
  }
  return out;
}

/**
 * EventBridge and CloudEvent rules trust text the sender writes: alone they admit nothing, unless
 * TRUST_QUEUE_POLICY=true says the queue policy lets only the right deliverers send.
 */
function unsignedRuleProblems(e: AdmissionEnv): Problem[] {
  const trusted = e.TRUST_QUEUE_POLICY === 'true';
  const ebVariable = [
    ['ALLOWED_EVENTBRIDGE_SOURCES', e.ALLOWED_EVENTBRIDGE_SOURCES],
    ['ALLOWED_EVENTBRIDGE_ACCOUNTS', e.ALLOWED_EVENTBRIDGE_ACCOUNTS],
  ].find(([, v]) => v !== undefined)?.[0];
  const ce = e.ALLOWED_CLOUDEVENT_SOURCES !== undefined;
  if (trusted) {
    return ebVariable === undefined && !ce
      ? [['TRUST_QUEUE_POLICY', 'has no use without ALLOWED_EVENTBRIDGE_* or ALLOWED_CLOUDEVENT_SOURCES']]
      : [];
  }
  const out: Problem[] = [];
  if (ebVariable !== undefined && e.ALLOWED_SENDERS === undefined) {
    out.push([
      ebVariable,
      `admits nothing on its own: an EventBridge envelope is unsigned text anyone who may send to the queue can write, and AWS documents no SenderId for EventBridge's own deliveries; list the EventBridge rule's or pipe's role in ALLOWED_SENDERS (this list then narrows what it delivers), or set TRUST_QUEUE_POLICY=true if the queue policy lets only EventBridge send, pinned by aws:SourceArn`,
    ]);
  } else if (ce && e.ALLOWED_SENDERS === undefined && e.ALLOWED_SNS_TOPICS === undefined) {
    out.push([
      'ALLOWED_CLOUDEVENT_SOURCES',
      'admits nothing on its own: a CloudEvent is text its sender writes; add ALLOWED_SENDERS or ALLOWED_SNS_TOPICS (this list then narrows what they admit), or set TRUST_QUEUE_POLICY=true if the queue policy lets only trusted producers send',
    ]);
  }
  return out;
}

/** The settings, or the problems (variable, message) that keep the relay from starting. */
export function admissionFromEnv(e: AdmissionEnv): { settings: AdmissionSettings | undefined; problems: Problem[] } {
  const problems: Problem[] = [];
  const allowlist: AllowlistSettings = {
    senders: list(problems, 'ALLOWED_SENDERS', e.ALLOWED_SENDERS, [senderCheck], senderPattern),
    snsTopics: list(problems, 'ALLOWED_SNS_TOPICS', e.ALLOWED_SNS_TOPICS, [topicCheck]),
    eventBridgeSources: list(problems, 'ALLOWED_EVENTBRIDGE_SOURCES', e.ALLOWED_EVENTBRIDGE_SOURCES, []),
    eventBridgeAccounts: list(problems, 'ALLOWED_EVENTBRIDGE_ACCOUNTS', e.ALLOWED_EVENTBRIDGE_ACCOUNTS, [accountCheck]),
    cloudEventSources: list(problems, 'ALLOWED_CLOUDEVENT_SOURCES', e.ALLOWED_CLOUDEVENT_SOURCES, []),
    verifySnsSignatures: e.SNS_VERIFY_SIGNATURES !== 'false',
    trustQueuePolicy: e.TRUST_QUEUE_POLICY === 'true',
  };
  // One line per variable: a malformed entry is said first, and alone.
  if (problems.length === 0) problems.push(...unsignedRuleProblems(e));
  const topics = e.ALLOWED_SNS_TOPICS !== undefined;
  if (!topics) {
    if (e.SNS_VERIFY_SIGNATURES !== undefined) problems.push(['SNS_VERIFY_SIGNATURES', 'needs ALLOWED_SNS_TOPICS']);
    if (e.SNS_SIGNING_CERT_FILE !== undefined) problems.push(['SNS_SIGNING_CERT_FILE', 'needs ALLOWED_SNS_TOPICS']);
  } else if (e.SNS_SIGNING_CERT_FILE !== undefined && e.SNS_VERIFY_SIGNATURES === 'false') {
    problems.push(['SNS_SIGNING_CERT_FILE', 'has no use with SNS_VERIFY_SIGNATURES=false']);
  }
  const on = [
    e.ALLOWED_SENDERS,
    e.ALLOWED_SNS_TOPICS,
    e.ALLOWED_EVENTBRIDGE_SOURCES,
    e.ALLOWED_EVENTBRIDGE_ACCOUNTS,
    e.ALLOWED_CLOUDEVENT_SOURCES,
  ].some((x) => x !== undefined);
  if (problems.length > 0 || !on) return { settings: undefined, problems };
  return { settings: { allowlist, snsCertFile: e.SNS_SIGNING_CERT_FILE }, problems };
}
