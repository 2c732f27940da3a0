/** JSON parsing with the guards a queue consumer needs against hostile bodies. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const FORBIDDEN_HINT = /__proto__|constructor|prototype/;

export function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Finds a prototype-polluting key anywhere in the value, without recursion (depth is unbounded). */
function findForbiddenKey(root: Json): string | undefined {
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (isObject(v)) {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return key;
        stack.push(v[key] as Json);
      }
    }
  }
  return undefined;
}

export type JsonParse = { ok: true; value: Json } | { ok: false; forbidden: boolean; detail: string };

/** JSON.parse that refuses prototype-polluting keys and reports depth overflow as such. */
export function parseJson(text: string): JsonParse {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (err) {
    const kind = err instanceof RangeError ? 'JSON nested too deeply' : 'no valid JSON';
    return { ok: false, forbidden: false, detail: kind };
  }
  // JSON.parse itself never pollutes a prototype (it defines own properties), but code that later
  // merges the object might; an event has no business carrying such keys, so it is refused.
  // The substring test keeps the walk off the hot path.
  if (FORBIDDEN_HINT.test(text)) {
    const key = findForbiddenKey(value);
    if (key !== undefined) return { ok: false, forbidden: true, detail: `forbidden key "${key}"` };
  }
  return { ok: true, value };
}

/** A string field of an envelope, or undefined when absent or not a string. */
export function stringField(o: Record<string, Json>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}
