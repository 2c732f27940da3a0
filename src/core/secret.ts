import { createHash } from 'node:crypto';

/**
 * A task token is a bearer credential. Everything the relay writes down (dedup keys, logs, metrics,
 * DLQ reasons, errors) refers to it by hash only.
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The first 12 hex digits of the hash: enough to correlate log lines, useless to an attacker. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/**
 * Returns a message safe to record: occurrences of the token are replaced by its short hash
 * (Step Functions emulators and services quote the token in `InvalidToken` messages), and the
 * text is capped so a hostile service cannot fill a log line or a DLQ attribute.
 */
const LONG_OPAQUE_RUN = /[A-Za-z0-9+/=_-]{32,}/g;

export function scrub(text: string, token: string | undefined, max = 200): string {
  let out = text;
  if (token !== undefined && token.length > 0) {
    out = out.split(token).join(`<token ${shortHash(tokenHash(token))}>`);
  }
  // Defence in depth: a token we do not know (another message's, a cut-off one) still looks like a
  // long run of base64/UUID characters; nothing the relay needs to read is shaped like that.
  out = out.replace(LONG_OPAQUE_RUN, '<redacted>');
  return out.length > max ? `${out.slice(0, max)}…` : out;
}
