/**
 * The admission step, between parsing and deduplication: the sender allowlist, then — for a
 * message admitted by its SNS topic — the SNS signature. A refusal is evidence for `decide()`
 * (`sender_not_allowed`, `sns_signature_invalid`: dead-lettered before Step Functions is called);
 * an unreachable signing certificate hands the message back (`sns_cert_unavailable`), counted,
 * logged once a minute and shown on `/readyz`.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { ParseResult } from '../core/event.js';
import type { Evidence } from '../core/outcome.js';
import { scrub } from '../core/secret.js';
import type { Allowlist } from './allowlist.js';
import { type CertSource, verifySnsSignature } from './snsSignature.js';

/** Details name no sender-written text (the rules above), and pass the scrub as a last guard. */
const safe = (detail: string) => scrub(detail, undefined, 400);

export interface AdmissionHealth {
  allowlist: 'on';
  sns_signatures: Allowlist['snsSignatures'];
  /** TRUST_QUEUE_POLICY: unsigned rules admit on their own (see queue_security for the policy). */
  trust_queue_policy: boolean;
  /** The last time a signing certificate could not be fetched, and why. */
  sns_cert_last_error?: { at: string; detail: string };
}

export class Admission {
  readonly #allowlist: Allowlist;
  readonly #certs: CertSource;
  readonly #logger: Logger;
  readonly #now: () => number;
  #lastCertError: { at: number; detail: string } | undefined;
  #lastWarned = 0;

  constructor(allowlist: Allowlist, deps: { certs: CertSource; logger: Logger; now?: () => number }) {
    this.#allowlist = allowlist;
    this.#certs = deps.certs;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
  }

  /** Evidence against the message, or undefined when it may go on to Step Functions. */
  async admit(message: Message, parsed: ParseResult): Promise<Evidence | undefined> {
    // A body that failed before any CloudEvent keeps its own poison reason under the CloudEvent filter.
    const checkCloudEvent = parsed.ok || parsed.origin?.cloudEvent !== undefined;
    const judged = this.#allowlist.judge(message.Attributes?.SenderId, parsed.origin, checkCloudEvent);
    if (!judged.allowed) return { stage: 'admit', verdict: 'sender_not_allowed', detail: safe(judged.detail) };
    if (judged.via !== 'sns_topic' || !this.#allowlist.verifySnsSignatures) return undefined;
    const notification = parsed.snsNotification;
    if (notification === undefined) {
      return { stage: 'admit', verdict: 'sns_signature_invalid', detail: 'no SNS notification to verify' };
    }
    const checked = await verifySnsSignature(notification, this.#certs);
    if (checked.ok) return undefined;
    const detail = safe(checked.detail);
    if (checked.kind === 'invalid') return { stage: 'admit', verdict: 'sns_signature_invalid', detail };
    this.#certUnavailable(detail);
    return { stage: 'admit', verdict: 'sns_cert_unavailable', detail };
  }

  get health(): AdmissionHealth {
    const out: AdmissionHealth = {
      allowlist: 'on',
      sns_signatures: this.#allowlist.snsSignatures,
      trust_queue_policy: this.#allowlist.trustsQueuePolicy,
    };
    if (this.#lastCertError !== undefined) {
      out.sns_cert_last_error = {
        at: new Date(this.#lastCertError.at).toISOString(),
        detail: this.#lastCertError.detail,
      };
    }
    return out;
  }

  #certUnavailable(detail: string): void {
    const now = this.#now();
    this.#lastCertError = { at: now, detail };
    if (now - this.#lastWarned < 60_000) return;
    this.#lastWarned = now;
    this.#logger.warn({ detail }, 'SNS signing certificate unavailable; messages from allowed topics wait');
  }
}
