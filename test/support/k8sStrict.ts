/**
 * A strict check for rendered Kubernetes objects: every field must be one the API (or the CRD)
 * knows. The `kubernetes-models` packages validate types and required fields but let unknown or
 * misspelled fields through; their type declarations list every field, so this walks an object
 * against them (the interfaces, `Array<…>`, maps and inline objects they use) and names each field
 * that is not there.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** The `.d.ts` file of a module specifier such as `kubernetes-models/v1/Service` (exports map: `./v1/*`). */
function declarationFile(specifier: string): string {
  return join(NODE_MODULES, `${specifier.replace(/\.js$/, '')}.d.ts`);
}

type Shape =
  | { kind: 'object'; fields: Map<string, Shape | Ref> }
  | { kind: 'array'; of: Shape | Ref }
  | { kind: 'map'; of: Shape | Ref }
  | { kind: 'leaf' };
interface Ref {
  kind: 'ref';
  file: string;
  name: string;
}

const files = new Map<string, { text: string; imports: Map<string, string>; aliases: Map<string, string> }>();

function load(file: string) {
  let f = files.get(file);
  if (f !== undefined) return f;
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import \{([^}]+)\} from "([^"]+)";/g)) {
    const spec = m[2] ?? '';
    const target = spec.startsWith('.')
      ? resolve(dirname(file), spec.replace(/\.js$/, '.d.ts'))
      : declarationFile(spec);
    for (const name of (m[1] ?? '').split(',').map((n) => n.trim())) imports.set(name, target);
  }
  const aliases = new Map<string, string>();
  for (const m of text.matchAll(/export type \{([^}]+)\}/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const [local, exported] = part.split(' as ').map((x) => x.trim());
      if (local !== undefined && exported !== undefined) aliases.set(exported, local);
    }
  }
  f = { text, imports, aliases };
  files.set(file, f);
  return f;
}

/** Reads one type expression at `text[i]`; answers the shape and where it ended. */
function parseType(text: string, i: number, file: string): [Shape | Ref, number] {
  while (/\s/.test(text[i] ?? '')) i += 1;
  if (text.startsWith('Array<', i)) {
    const [of, end] = parseType(text, i + 6, file);
    return [{ kind: 'array', of }, end + 1];
  }
  if (text[i] === '{') {
    const close = matching(text, i);
    const body = text.slice(i + 1, close);
    const index = /^\s*\[key: string\]:\s*/.exec(body);
    if (index !== null) {
      const [of] = parseType(body, index[0].length, file);
      return [{ kind: 'map', of }, close + 1];
    }
    return [parseFields(body, file), close + 1];
  }
  const m = /^[A-Za-z0-9_."'| ]+/.exec(text.slice(i));
  const word = (m?.[0] ?? '').trim();
  const end = i + (m?.[0].length ?? 1);
  if (/^I[A-Z]\w*$/.test(word)) return [{ kind: 'ref', file, name: word }, end];
  return [{ kind: 'leaf' }, end];
}

function matching(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error('unbalanced braces');
}

function parseFields(body: string, file: string): Shape {
  const fields = new Map<string, Shape | Ref>();
  const re = /"([^"]+)"\??:\s*/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const [shape, end] = parseType(body, m.index + m[0].length, file);
    fields.set(m[1] ?? '', shape);
    re.lastIndex = end;
  }
  return { kind: 'object', fields };
}

function resolveRef(ref: Ref): Shape {
  const f = load(ref.file);
  const imported = f.imports.get(ref.name);
  if (imported !== undefined && imported !== ref.file) {
    const target = load(imported);
    return resolveRef({ kind: 'ref', file: imported, name: target.aliases.get(ref.name) ?? ref.name });
  }
  const local = f.aliases.get(ref.name) ?? ref.name;
  const decl = new RegExp(`export interface ${local}(?: extends TypeMeta)? \\{`).exec(f.text);
  if (decl === null) return { kind: 'leaf' }; // a type alias (IntOrString, Quantity, a union)
  const open = decl.index + decl[0].length - 1;
  const shape = parseFields(f.text.slice(open + 1, matching(f.text, open)), ref.file);
  if (shape.kind === 'object' && decl[0].includes('TypeMeta')) {
    shape.fields.set('apiVersion', { kind: 'leaf' });
    shape.fields.set('kind', { kind: 'leaf' });
  }
  return shape;
}

function walk(value: unknown, shape: Shape | Ref, path: string, problems: string[]): void {
  const s = shape.kind === 'ref' ? resolveRef(shape) : shape;
  if (value === null || value === undefined || s.kind === 'leaf') return;
  if (s.kind === 'array' && Array.isArray(value)) {
    for (const [i, v] of value.entries()) walk(v, s.of, `${path}[${i}]`, problems);
  } else if (s.kind === 'map' && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, s.of, `${path}.${k}`, problems);
  } else if (s.kind === 'object' && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      const field = s.fields.get(k);
      if (field === undefined) problems.push(`${path}.${k}: not a field of this object`);
      else walk(v, field, `${path}.${k}`, problems);
    }
  }
}

/** Fields of `object` that the model declared in `modelFile` (its `.d.ts`) does not know. */
export function unknownFields(object: unknown, modelModule: string, interfaceName: string): string[] {
  const problems: string[] = [];
  walk(object, { kind: 'ref', file: declarationFile(modelModule), name: interfaceName }, '', problems);
  return problems;
}
