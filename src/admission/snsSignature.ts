/**
 * SNS message signatures (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA), checked the way the
 * SNS documentation describes: the canonical string of the notification's fields, verified with
 * the public key of the certificate at SigningCertURL — which must be an SNS host of AWS — or with
 * certificates pinned from a file (air-gapped clusters, tests).
 *
 * Written here rather than taken from `sns-validator` / `sns-payload-validator`: both fetch the
 * certificate with no timeout and cache whatever the URL answered (an error page included), and
 * neither tells "signature invalid" (the message's fault: dead-letter) from "certificate
 * unreachable" (ours: hand back and retry), which is the distinction a queue consumer needs.
 */
import { type KeyObject, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, RelayError } from '../core/errors.js';
import { scrub } from '../core/secret.js';
import type { Json } from '../envelope/json.js';
import { BoundedCache } from './boundedCache.js';
import { certHost, snsCertUrl } from './snsCertUrl.js';

export type SignatureCheck = { ok: true } | { ok: false; kind: 'invalid' | 'unavailable'; detail: string };

export interface CertSource {
  /** Public keys to verify a signature made with the certificate at `url`. */
  keys(
    url: string,
  ): Promise<{ ok: true; keys: KeyObject[] } | { ok: false; kind: 'invalid' | 'unavailable'; detail: string }>;
}

const SIGNED_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;

/** The canonical string SNS signs for a Notification, or the field that is missing. */
export function stringToSign(n: Record<string, Json>): { ok: true; text: string } | { ok: false; field: string } {
  let text = '';
  for (const field of SIGNED_FIELDS) {
    const value = n[field];
    // Subject is signed only when the publisher gave one.
    if (field === 'Subject' && (value === undefined || value === null)) continue;
    if (typeof value !== 'string') return { ok: false, field };
    text += `${field}\n${value}\n`;
  }
  return { ok: true, text };
}

export async function verifySnsSignature(n: Record<string, Json>, certs: CertSource): Promise<SignatureCheck> {
  const version = n.SignatureVersion;
  if (version !== '1' && version !== '2') {
    return { ok: false, kind: 'invalid', detail: 'SignatureVersion is not "1" or "2"' };
  }
  const signature = n.Signature;
  if (typeof signature !== 'string' || signature === '') return { ok: false, kind: 'invalid', detail: 'no Signature' };
  const canonical = stringToSign(n);
  if (!canonical.ok) return { ok: false, kind: 'invalid', detail: `the signed field ${canonical.field} is missing` };
  const url = typeof n.SigningCertURL === 'string' ? n.SigningCertURL : '';
  const found = await certs.keys(url);
  if (!found.ok) return found;
  const data = Buffer.from(canonical.text, 'utf8');
  const sig = Buffer.from(signature, 'base64');
  const algorithm = version === '1' ? 'sha1' : 'sha256';
  for (const key of found.keys) {
    try {
      if (verify(algorithm, data, key, sig)) return { ok: true };
    } catch {
      // A key of another type, or a malformed signature: not a match.
    }
  }
  return { ok: false, kind: 'invalid', detail: `the SignatureVersion ${version} signature does not verify` };
}

/** Every certificate in a PEM text. */
function pemCerts(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

const pemKeys = (pem: string): KeyObject[] => pemCerts(pem).map((c) => c.publicKey);

/** Certificates from SNS_SIGNING_CERT_FILE: read once at start-up; SigningCertURL is not used. */
export function pinnedCerts(file: string): CertSource {
  let keys: KeyObject[];
  try {
    keys = pemKeys(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([
      `SNS_SIGNING_CERT_FILE=${JSON.stringify(file)} cannot be read as PEM certificates: ${(err as Error).message}`,
    ]);
  }
  if (keys.length === 0) {
    throw new ConfigError([`SNS_SIGNING_CERT_FILE=${JSON.stringify(file)} holds no PEM certificate`]);
  }
  return { keys: async () => ({ ok: true, keys }) };
}

export interface FetchOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** After an outage (network error, timeout, 408, 429, 5xx), further messages wait this long before trying again. */
  retryAfterMs?: number;
  /** A URL the SNS host refused (another 4xx, a redirect, not a certificate of SNS) stays refused this long. */
  refusedForMs?: number;
  /** Certificates kept at most this long (SNS rotates them under a new URL) … */
  certTtlMs?: number;
  /** … and at most this many URLs, certificates and failures each; the oldest goes first. */
  maxEntries?: number;
  now?: () => number;
}

type Failure = { ok: false; kind: 'invalid' | 'unavailable'; detail: string };
type Found = { ok: true; keys: KeyObject[] } | Failure;

/** A failed fetch: `invalid` when the SNS host answered (the URL's fault), `unavailable` when it could not. */
class FetchFailure extends RelayError {
  constructor(
    readonly kind: 'invalid' | 'unavailable',
    message: string,
  ) {
    super(kind === 'invalid' ? 'SNS_CERT_REFUSED' : 'SNS_CERT_UNAVAILABLE', message);
    this.name = 'FetchFailure';
  }
}

/**
 * Certificates fetched from SigningCertURL (SNS hosts only, no redirects followed, the certificate
 * named for SNS), one fetch per URL at a time. Bounded: at most `maxEntries` (default 1,000) URLs
 * in each of the certificate and failure caches, certificates for `certTtlMs` (24 h), refusals for
 * `refusedForMs` (10 min), outages for `retryAfterMs` (10 s) so an outage costs one request per
 * URL, not one per message.
 */
export function fetchedCerts(options: FetchOptions = {}): CertSource & { failures: number; cached: () => number } {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const cache = new BoundedCache<Promise<KeyObject>>({ maxEntries, ttlMs: options.certTtlMs ?? 86_400_000, now });
  const failed = new BoundedCache<{ failure: Failure; at: number }>({
    maxEntries,
    ttlMs: options.refusedForMs ?? 600_000,
    now,
  });
  const retryAfterMs = options.retryAfterMs ?? 10_000;
  const source = {
    failures: 0,
    cached: () => cache.size + failed.size,
    async keys(raw: string): Promise<Found> {
      const checked = snsCertUrl(raw);
      if (!checked.ok) return { ok: false, kind: 'invalid', detail: checked.detail };
      const url = checked.url;
      const recent = failed.get(url);
      if (recent !== undefined && (recent.failure.kind === 'invalid' || now() - recent.at < retryAfterMs)) {
        return recent.failure;
      }
      let pending = cache.get(url);
      if (pending === undefined) {
        pending = load(url, checked.names);
        cache.set(url, pending);
      }
      try {
        return { ok: true, keys: [await pending] };
      } catch (err) {
        return failureOf(url, err);
      }
    },
  };
  const failureOf = (url: string, err: unknown): Failure => ({
    ok: false,
    kind: err instanceof FetchFailure ? err.kind : 'unavailable',
    detail: scrub(`fetching the certificate ${certHost(url)} failed: ${(err as Error).message}`, undefined, 300),
  });
  /** One request; a failure is counted once, remembered, and the URL fetched again later. */
  async function load(url: string, names: string[]): Promise<KeyObject> {
    try {
      const key = await request(url, names);
      failed.delete(url);
      return key;
    } catch (err) {
      cache.delete(url);
      source.failures += 1;
      failed.set(url, { failure: failureOf(url, err), at: now() });
      throw err;
    }
  }
  async function request(url: string, names: string[]): Promise<KeyObject> {
    let res: Response;
    try {
      res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    } catch (err) {
      throw new FetchFailure('unavailable', (err as Error).message);
    }
    // 408 (timeout) and 429 (throttled) say as little about the URL as a 5xx: an outage, retried.
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      throw new FetchFailure('unavailable', `HTTP ${res.status}`);
    }
    if (res.status !== 200) throw new FetchFailure('invalid', `HTTP ${res.status} from the SNS host`);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new FetchFailure('unavailable', `reading the answer: ${(err as Error).message}`);
    }
    let cert: X509Certificate | undefined;
    try {
      cert = pemCerts(text)[0];
    } catch (err) {
      throw new FetchFailure('invalid', `the answer is not a certificate: ${(err as Error).message}`);
    }
    if (cert === undefined) throw new FetchFailure('invalid', 'the answer is not a PEM certificate');
    if (!names.some((n) => cert.checkHost(n) !== undefined)) {
      throw new FetchFailure('invalid', `the certificate is not issued to ${names.join(' or ')}`);
    }
    return cert.publicKey;
  }
  return source;
}
