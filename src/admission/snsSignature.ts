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
import type { Json } from '../envelope/json.js';
import { ConfigError } from '../errors.js';

export type SignatureCheck = { ok: true } | { ok: false; kind: 'invalid' | 'unavailable'; detail: string };

export interface CertSource {
  /** Public keys to verify a signature made with the certificate at `url`. */
  keys(
    url: string,
  ): Promise<{ ok: true; keys: KeyObject[] } | { ok: false; kind: 'invalid' | 'unavailable'; detail: string }>;
}

/** Where SNS publishes its signing certificates (and only there). */
export const SNS_CERT_URL =
  /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/SimpleNotificationService-[A-Za-z0-9]+\.pem$/;

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
    return { ok: false, kind: 'invalid', detail: `SignatureVersion ${JSON.stringify(version ?? null)} is not 1 or 2` };
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

/** Public keys of every certificate in a PEM text. */
function pemKeys(pem: string): KeyObject[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b).publicKey);
}

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
  /** After a failed fetch, further messages wait this long before trying again. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * Certificates fetched from SigningCertURL (SNS hosts only), kept for the life of the process
 * (SNS rotates them rarely, under a new URL), one fetch per URL at a time, failures remembered
 * for `retryAfterMs` so an outage costs one request, not one per message.
 */
export function fetchedCerts(options: FetchOptions = {}): CertSource & { failures: number } {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const retryAfterMs = options.retryAfterMs ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Promise<KeyObject>>();
  const failed = new Map<string, { at: number; detail: string }>();
  const source = {
    failures: 0,
    async keys(url: string) {
      if (!SNS_CERT_URL.test(url)) {
        return {
          ok: false as const,
          kind: 'invalid' as const,
          detail: `SigningCertURL ${JSON.stringify(url.slice(0, 200))} is not an SNS certificate URL`,
        };
      }
      const recent = failed.get(url);
      if (recent !== undefined && now() - recent.at < retryAfterMs) {
        return { ok: false as const, kind: 'unavailable' as const, detail: recent.detail };
      }
      let pending = cache.get(url);
      if (pending === undefined) {
        pending = load(url);
        cache.set(url, pending);
      }
      try {
        return { ok: true as const, keys: [await pending] };
      } catch (err) {
        const detail = `fetching ${url} failed: ${(err as Error).message}`.slice(0, 300);
        return { ok: false as const, kind: 'unavailable' as const, detail };
      }
    },
  };
  /** One request; a failure is counted once, remembered, and the URL fetched again later. */
  async function load(url: string): Promise<KeyObject> {
    try {
      return await request(url);
    } catch (err) {
      cache.delete(url);
      source.failures += 1;
      failed.set(url, { at: now(), detail: `fetching ${url} failed: ${(err as Error).message}`.slice(0, 300) });
      throw err;
    }
  }
  async function request(url: string): Promise<KeyObject> {
    const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const keys = pemKeys(await res.text());
    const key = keys[0];
    if (key === undefined) throw new Error('the answer is not a PEM certificate');
    return key;
  }
  return source;
}
