/**
 * One statement of a queue policy, read conservatively: what counts as a pin (an Allow that names
 * who may send) and what counts as a Deny that keeps everyone else out. Anything the reader does not
 * recognise counts as neither, so a policy it cannot vouch for is reported open, never restricted.
 *
 * - A **pin** is a condition with a positive, non-IfExists operator (`ArnEquals`, `ArnLike`,
 *   `StringEquals`, `StringLike`) on a pin key whose every value is concrete: an ARN whose
 *   partition, service, account (12 digits) and resource have no wildcard (the region may), a
 *   12-digit account, an organization id. An Allow holds under all its conditions, so one pin pins it.
 * - A **Deny of others** covers `sqs:SendMessage` through `Action` (not `NotAction`), names
 *   `Principal` `"*"` or `{"AWS": "*"}` (no `NotPrincipal`, no `NotResource`), and its one and only
 *   condition is a negated match (`ArnNotEquals`, `ArnNotLike`, `StringNotEquals`, `StringNotLike`;
 *   not the IfExists forms) of one key, `aws:SourceArn` or `aws:SourceAccount`, whose values are
 *   concrete and among the values the policy's Allow statements pin that key to (the EventBridge
 *   rule or SNS topic ARNs, or their account). Such a Deny lets through only what the Allows pin.
 */

export type Statement = Record<string, unknown>;

/** Condition keys that say who or what sends, lower-cased. */
export const PINS = [
  'aws:sourcearn',
  'aws:sourceaccount',
  'aws:principalarn',
  'aws:principalaccount',
  'aws:principalorgid',
];
/** The keys that pin a service principal to its source (the rule, the topic, their account). */
export const SERVICE_PINS = ['aws:sourcearn', 'aws:sourceaccount'];

const POSITIVE = new Set(['ArnEquals', 'ArnLike', 'StringEquals', 'StringLike']);
const NEGATED = new Set(['ArnNotEquals', 'ArnNotLike', 'StringNotEquals', 'StringNotLike']);

export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

const WILD = /[*?]/;
const ACCOUNT = /^[0-9]{12}$/;

/** Whether a condition value names one principal, source or account (no wildcard where it matters). */
function concrete(key: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (key === 'aws:sourceaccount' || key === 'aws:principalaccount') return ACCOUNT.test(value);
  if (key === 'aws:principalorgid') return /^o-[a-z0-9]+$/.test(value);
  const [arn, partition, service, , account, ...resource] = value.split(':');
  const fixed = [partition ?? '', service ?? '', resource.join(':')];
  return arn === 'arn' && ACCOUNT.test(account ?? '') && fixed.every((p) => p !== '' && !WILD.test(p));
}

/** The condition's [operator, key (lower-cased), values] triples. */
function conditions(st: Statement): [string, string, unknown[]][] {
  const c = st.Condition;
  if (c === undefined) return [];
  if (typeof c !== 'object' || c === null) return [['', '', []]];
  return Object.entries(c).flatMap(([op, block]): [string, string, unknown[]][] =>
    typeof block === 'object' && block !== null
      ? Object.entries(block).map(([k, v]): [string, string, unknown[]] => [op, k.toLowerCase(), list(v)])
      : [[op, '', []]],
  );
}

/** Values a statement pins each of `keys` to, by positive conditions with concrete values only. */
export function pins(st: Statement, keys: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [op, key, values] of conditions(st)) {
    if (!POSITIVE.has(op) || !keys.includes(key) || values.length === 0) continue;
    if (!values.every((v) => concrete(key, v))) continue;
    out.set(key, [...(out.get(key) ?? []), ...(values as string[])]);
  }
  return out;
}

function actionCovers(actions: unknown): boolean {
  return list(actions).some((a) => {
    if (typeof a !== 'string') return false;
    const re = new RegExp(
      `^${a
        .toLowerCase()
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    return re.test('sqs:sendmessage');
  });
}

/** Whether an Allow's Action (or NotAction, conservatively) may cover sqs:SendMessage. */
export function sends(st: Statement): boolean {
  return st.NotAction !== undefined || actionCovers(st.Action);
}

export function principals(st: Statement): { everyone: boolean; services: string[] } {
  const p = st.Principal;
  if (p === '*') return { everyone: true, services: [] };
  if (typeof p !== 'object' || p === null) return { everyone: st.NotPrincipal !== undefined, services: [] };
  const o = p as Record<string, unknown>;
  return {
    everyone: list(o.AWS).includes('*') || st.NotPrincipal !== undefined,
    services: list(o.Service).filter((s): s is string => typeof s === 'string'),
  };
}

function deniesEveryone(st: Statement): boolean {
  if (st.NotPrincipal !== undefined || st.NotResource !== undefined || st.NotAction !== undefined) return false;
  const p = st.Principal;
  if (p === '*') return true;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const entries = Object.entries(p);
  return entries.length === 1 && entries[0]?.[0] === 'AWS' && list(entries[0][1]).every((a) => a === '*');
}

/** Whether a Deny keeps out every sender but the ones the Allows pin (`allowed`: key → pinned values). */
export function deniesOthers(st: Statement, allowed: Map<string, Set<string>>): boolean {
  if (st.Effect !== 'Deny' || !actionCovers(st.Action) || !deniesEveryone(st)) return false;
  const only = conditions(st);
  if (only.length !== 1 || only[0] === undefined) return false;
  const [op, key, values] = only[0];
  if (!NEGATED.has(op) || !SERVICE_PINS.includes(key) || values.length === 0) return false;
  const pinned = allowed.get(key);
  return values.every((v) => concrete(key, v) && pinned?.has(v as string) === true);
}
