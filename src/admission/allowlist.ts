/**
 * Who may fail a task: the optional allowlist, and its matching rules.
 *
 * A message is admitted by who delivered it, on evidence a forger cannot write (docs/security.md):
 * its `SenderId` (the IAM principal that called SendMessage, filled in by SQS) in ALLOWED_SENDERS,
 * or an outermost SNS envelope from a topic in ALLOWED_SNS_TOPICS whose signature the relay
 * verified. EventBridge and CloudEvent envelopes are unsigned text: ALLOWED_EVENTBRIDGE_* narrow
 * what ALLOWED_SENDERS admits (the EventBridge rule's or pipe's role), with TRUST_QUEUE_POLICY or
 * without, and ALLOWED_CLOUDEVENT_SOURCES narrows every admitted message; they admit on their own
 * only with TRUST_QUEUE_POLICY=true, which says the operator trusts the queue policy to let only
 * those deliverers send (it adds admission, it never widens a sender rule). With no list set
 * the allowlist is off (every message is admitted).
 */
import type { Origin } from '../envelope/unwrap.js';

/** Patterns: `*` matches any run of characters (`:` and `/` included); everything else is literal. */
export type Pattern = { text: string; test: (value: string) => boolean };

export interface AllowlistSettings {
  senders: Pattern[];
  snsTopics: Pattern[];
  eventBridgeSources: Pattern[];
  eventBridgeAccounts: Pattern[];
  cloudEventSources: Pattern[];
  /** Verify the SNS signature of a message admitted by its topic. */
  verifySnsSignatures: boolean;
  /** TRUST_QUEUE_POLICY: the unsigned rules (EventBridge, CloudEvent) admit on their own. */
  trustQueuePolicy: boolean;
}

export type Judgement =
  | { allowed: true; via: 'sender' | 'sns_topic' | 'eventbridge' | 'queue_policy' }
  | { allowed: false; detail: string };

export function pattern(text: string): Pattern {
  if (!text.includes('*')) return { text, test: (v) => v === text };
  const source = text
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return { text, test: (v) => re.test(v) };
}

const ROLE_ID = /^AROA[A-Z0-9]{12,}$/;

/**
 * An ALLOWED_SENDERS entry: a SenderId as SQS reports it — an IAM user id (`AIDA…`), a role id with
 * the session (`AROA…:session`), an account id (root, and emulators) — or a pattern of one. A bare
 * role id means any session of the role.
 */
export function senderPattern(entry: string): Pattern {
  if (ROLE_ID.test(entry)) {
    const exact = pattern(entry);
    const anySession = pattern(`${entry}:*`);
    return { text: entry, test: (v) => exact.test(v) || anySession.test(v) };
  }
  return pattern(entry);
}

const any = (patterns: Pattern[], value: string | undefined) =>
  value !== undefined && patterns.some((p) => p.test(value));

/** The SenderId, which SQS writes (not the sender), quoted. */
const shown = (v: string | undefined) => (v === undefined ? 'none' : JSON.stringify(v.slice(0, 256)));

/**
 * Envelope fields are sender-written: a detail never quotes them (a token could ride in them). It
 * names a topic's account when the TopicArn has the shape of one, an EventBridge account when it is
 * 12 digits, and otherwise only which field did not match.
 */
const topicShown = (arn: string | undefined) => {
  const account = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:([0-9]{12}):[A-Za-z0-9_.-]+$/.exec(arn ?? '')?.[1];
  return account === undefined ? 'the SNS TopicArn (not a topic ARN)' : `an SNS topic of account ${account}`;
};
const accountShown = (v: string | undefined) =>
  v !== undefined && /^[0-9]{12}$/.test(v) ? `EventBridge account ${v}` : 'the EventBridge account (not a 12-digit id)';

export class Allowlist {
  readonly #s: AllowlistSettings;
  readonly #deliveryRules: boolean;

  constructor(settings: AllowlistSettings) {
    this.#s = settings;
    const s = settings;
    this.#deliveryRules = s.senders.length + s.snsTopics.length + (s.trustQueuePolicy ? this.#eventBridgeRules : 0) > 0;
  }

  get #eventBridgeRules(): number {
    return this.#s.eventBridgeSources.length + this.#s.eventBridgeAccounts.length;
  }

  /** TRUST_QUEUE_POLICY: the EventBridge / CloudEvent lists admit on their own. */
  get trustsQueuePolicy(): boolean {
    return this.#s.trustQueuePolicy;
  }

  get verifySnsSignatures(): boolean {
    return this.#s.verifySnsSignatures;
  }

  /** What happens to SNS signatures: checked only for messages a topic rule admits. */
  get snsSignatures(): 'verified' | 'not_verified' | 'not_used' {
    if (this.#s.snsTopics.length === 0) return 'not_used';
    return this.#s.verifySnsSignatures ? 'verified' : 'not_verified';
  }

  /**
   * Whether a message from `senderId` with this origin may fail a task. `checkCloudEvent`: apply
   * the CloudEvent filter (false for a body that failed to parse before any CloudEvent was seen,
   * which keeps its own poison reason).
   */
  judge(senderId: string | undefined, origin: Origin | undefined, checkCloudEvent: boolean): Judgement {
    const delivery = this.#delivery(senderId, origin);
    if (!delivery.allowed) return delivery;
    const ce = this.#s.cloudEventSources;
    if (ce.length > 0 && checkCloudEvent) {
      const source = origin?.cloudEvent?.source;
      if (source === undefined)
        return { allowed: false, detail: 'no CloudEvent, and ALLOWED_CLOUDEVENT_SOURCES is set' };
      if (!any(ce, source))
        return { allowed: false, detail: 'the CloudEvent source is not in ALLOWED_CLOUDEVENT_SOURCES' };
    }
    return delivery;
  }

  #delivery(senderId: string | undefined, origin: Origin | undefined): Judgement {
    if (!this.#deliveryRules) return { allowed: true, via: 'queue_policy' };
    const s = this.#s;
    const reasons: string[] = [];
    if (any(s.senders, senderId)) {
      // The EventBridge lists narrow what a sender rule admits; TRUST_QUEUE_POLICY only adds
      // admission of matching outermost EventBridge events from any sender (below).
      if (this.#eventBridgeRules === 0) return { allowed: true, via: 'sender' };
      const eb = this.#eventBridge(origin, reasons);
      return eb ? { allowed: true, via: 'sender' } : { allowed: false, detail: reasons.join('; ') };
    }
    if (s.senders.length > 0) reasons.push(`SenderId ${shown(senderId)} is not in ALLOWED_SENDERS`);
    const sns = origin?.sns;
    if (sns !== undefined && s.snsTopics.length > 0) {
      if (any(s.snsTopics, sns.topicArn)) return { allowed: true, via: 'sns_topic' };
      reasons.push(`${topicShown(sns.topicArn)} is not in ALLOWED_SNS_TOPICS`);
    }
    const eb = s.trustQueuePolicy && this.#eventBridgeRules > 0 && origin?.eventBridge !== undefined;
    if (eb && this.#eventBridge(origin, reasons)) {
      return { allowed: true, via: 'eventbridge' };
    }
    if (reasons.length === 0) reasons.push(`no rule admits a message delivered as ${origin?.envelope ?? 'plain'}`);
    return { allowed: false, detail: reasons.join('; ') };
  }

  /** Whether the outermost envelope is an EventBridge event the EventBridge lists match; else why not. */
  #eventBridge(origin: Origin | undefined, reasons: string[]): boolean {
    const s = this.#s;
    const eb = origin?.eventBridge;
    if (eb === undefined) {
      reasons.push(
        `no outermost EventBridge envelope, and ALLOWED_EVENTBRIDGE_${s.eventBridgeSources.length > 0 ? 'SOURCES' : 'ACCOUNTS'} is set`,
      );
      return false;
    }
    const sourceOk = s.eventBridgeSources.length === 0 || any(s.eventBridgeSources, eb.source);
    const accountOk = s.eventBridgeAccounts.length === 0 || any(s.eventBridgeAccounts, eb.account);
    if (!sourceOk) reasons.push('the EventBridge source is not in ALLOWED_EVENTBRIDGE_SOURCES');
    if (!accountOk) reasons.push(`${accountShown(eb.account)} is not in ALLOWED_EVENTBRIDGE_ACCOUNTS`);
    return sourceOk && accountOk;
  }
}
