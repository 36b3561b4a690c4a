/**
 * Schema validation of one parsed document, with ajv compiled once (on first use) from
 * schemas/manifest.v1.schema.json, and ajv's errors turned into diagnostics people can act on.
 *
 * Invariants:
 * - A document is `valid` (has a ManifestDocument) exactly when it produced no error diagnostic;
 *   it may still carry warnings.
 * - Every diagnostic points at the YAML node ajv's instancePath names (its key for unknown fields,
 *   its parent's key for missing fields) and carries that JSON pointer.
 * - One problem gives one diagnostic: a failing server selector (a oneOf) is explained once, a bad
 *   timestamp or name once, whatever the number of schema keywords it breaks.
 * - apiVersion and kind are checked first; a document whose apiVersion or kind is unknown is not
 *   checked further (its fields mean nothing without them).
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { createAjv, lazyValidators, type ValidatorSet } from '../model/json-schema.ts';
import { MANIFEST_KINDS, NAME_MAX_LENGTH } from '../model/address.ts';
import { FIELD_POLICIES } from '../model/field-policy.ts';
import { isJobTimestampField, JOB_SPEC_FIELDS, type JobSpecField } from '../model/job.ts';
import { diagnostic, type Diagnostic, type DiagnosticCode, type DiagnosticPosition } from './diagnostics.ts';
import { API_VERSION, SUPPORTED_API_VERSIONS, type ManifestDocument, type ManifestJobFields } from './document.ts';
import type { ManifestLocator, ParsedDocument } from './parse.ts';
import { isSchemaNode, MANIFEST_SCHEMA, MANIFEST_SCHEMA_ID, POLICY_KEYWORD, type SchemaNode } from './schema.ts';
import { displayPath, pointerSegments, toPointer, type PathSegment } from './source.ts';
import { closestMatch, didYouMean } from './suggest.ts';
import { parseRfc3339 } from './timestamp.ts';

/** The manifest schema's validator (precompiled in the bundle, see model/json-schema.ts). */
export const MANIFEST_VALIDATORS: ValidatorSet<'document'> = {
  name: 'manifest',
  ajv: (code) => {
    const ajv = createAjv({ allErrors: true, verbose: true, strictRequired: false, ...(code ? { code } : {}) });
    ajv.addKeyword({ keyword: POLICY_KEYWORD, schemaType: 'string', metaSchema: { enum: [...FIELD_POLICIES] } });
    ajv.addSchema(MANIFEST_SCHEMA);
    return ajv;
  },
  refs: { document: MANIFEST_SCHEMA_ID },
};
const manifestValidator = lazyValidators(MANIFEST_VALIDATORS);

/** A document that passed the schema: its value has the ManifestDocument type. */
export interface ValidDocument {
  readonly file: string;
  readonly index: number;
  readonly document: ManifestDocument;
  readonly locator: ManifestLocator;
}

export interface DocumentValidation {
  readonly valid: ValidDocument | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

const SELECTOR_KEYS = ['serverId', 'vmId', 'vmManagerId', 'vmName', 'vmManagerName', 'vmPath'] as const;
const SELECTOR_FORMS: readonly { readonly label: string; readonly keys: readonly string[] }[] = [
  { label: 'serverId', keys: ['serverId'] },
  { label: 'vmId + vmManagerId', keys: ['vmId', 'vmManagerId'] },
  { label: 'vmName', keys: ['vmName', 'vmManagerName', 'vmPath'] },
];
const SELECTOR_HINT = 'pick the server one way: {serverId: s-...}, or {vmId, vmManagerId}, or {vmName} optionally with vmManagerName and/or vmPath';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function valueAt(root: unknown, segs: readonly PathSegment[]): unknown {
  let cur = root;
  for (const s of segs) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isRecord(cur)) cur = cur[String(s)];
    else return undefined;
  }
  return cur;
}

/** `1.5 (a number)`, `"web" (a string)`, `a mapping`, ... */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} (a string)`;
  if (typeof v === 'number') return `${v} (a number)`;
  if (typeof v === 'boolean') return `${v} (a boolean)`;
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'binary data';
  return 'a mapping';
}

/** A string in quotes, anything else described. */
function quoted(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describeValue(v);
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** The allowed range of a number schema, for messages. */
function rangeText(schema: SchemaNode): string {
  const min = schema['minimum'];
  const max = schema['maximum'];
  if (typeof min === 'number' && typeof max === 'number') return `from ${min} to ${max}`;
  if (typeof min === 'number') return `at least ${min}`;
  if (typeof max === 'number') return `at most ${max}`;
  return 'in range';
}

interface Mapper {
  readonly doc: ParsedDocument;
  readonly kind: string;
  readonly out: Diagnostic[];
  readonly seen: Set<string>;
}

function emit(m: Mapper, code: DiagnosticCode, summary: string, position: DiagnosticPosition, hint?: string, related?: DiagnosticPosition): void {
  const key = `${code}|${position.pointer ?? ''}|${summary}`;
  if (m.seen.has(key)) return;
  m.seen.add(key);
  m.out.push(diagnostic(code, summary, position, { hint, related }));
}

function at(m: Mapper, segs: readonly PathSegment[], part: 'key' | 'value' = 'value'): DiagnosticPosition {
  return m.doc.locator.locate(segs, part);
}

/** Validates one parsed document against the manifest schema. */
export function validateDocument(doc: ParsedDocument): DocumentValidation {
  const m: Mapper = { doc, kind: '', out: [], seen: new Set() };
  const value = doc.value;
  if (!isRecord(value)) {
    emit(m, 'SMSR-M020', `document is ${describeValue(value)}, not a mapping`, doc.locator.start(), 'a manifest document is a mapping with apiVersion, kind, metadata and spec');
    return { valid: undefined, diagnostics: m.out };
  }
  if (!checkEnvelope(m, value)) return { valid: undefined, diagnostics: m.out };
  const mapper: Mapper = { ...m, kind: String(value['kind']) };
  const validateSchema = manifestValidator().document;
  if (!validateSchema(value)) mapErrors(mapper, validateSchema.errors ?? []);
  if (mapper.out.some((d) => d.severity === 'error')) return { valid: undefined, diagnostics: mapper.out };
  // The schema passed, so the value has the shape ManifestDocument describes.
  const document = value as unknown as ManifestDocument;
  semanticWarnings(mapper, document);
  return { valid: { file: doc.file, index: doc.index, document, locator: doc.locator }, diagnostics: mapper.out };
}

/** apiVersion and kind; false when the rest of the document cannot be checked. */
function checkEnvelope(m: Mapper, value: Record<string, unknown>): boolean {
  let ok = true;
  const apiVersion = value['apiVersion'];
  const supported = SUPPORTED_API_VERSIONS.join(', ');
  if (apiVersion === undefined) {
    emit(m, 'SMSR-M031', 'document has no apiVersion', { ...m.doc.locator.start(), pointer: '/apiVersion' }, `add apiVersion: ${API_VERSION}`);
    ok = false;
  } else if (typeof apiVersion !== 'string' || !SUPPORTED_API_VERSIONS.includes(apiVersion)) {
    emit(m, 'SMSR-M021', `unknown apiVersion ${quoted(apiVersion)}; supported: ${supported}`, at(m, ['apiVersion']), `use apiVersion: ${API_VERSION}`);
    ok = false;
  }
  const kind = value['kind'];
  const kinds = MANIFEST_KINDS.join(', ');
  if (kind === undefined) {
    emit(m, 'SMSR-M031', 'document has no kind', { ...m.doc.locator.start(), pointer: '/kind' }, `add kind: one of ${kinds}`);
    ok = false;
  } else if (typeof kind !== 'string' || !(MANIFEST_KINDS as readonly string[]).includes(kind)) {
    let hint = typeof kind === 'string' ? didYouMean(kind, MANIFEST_KINDS) : undefined;
    if (kind === 'Inventory') hint = "an Inventory is the embedded server's --inventory file, not a manifest: leave it out of -f";
    emit(m, 'SMSR-M022', `unknown kind ${quoted(kind)}; supported: ${kinds}`, at(m, ['kind']), hint);
    ok = false;
  }
  return ok;
}

/** The selector path an instance path lies in (`spec.server`, `spec.servers[i].server`), if any. */
function selectorPath(kind: string, segs: readonly string[]): string[] | undefined {
  if (kind === 'ReplicationJob' && segs[0] === 'spec' && segs[1] === 'server') return segs.slice(0, 2);
  if (kind === 'ReplicationJobSet' && segs[0] === 'spec' && segs[1] === 'servers' && /^\d+$/.test(segs[2] ?? '') && segs[3] === 'server') {
    return segs.slice(0, 4);
  }
  return undefined;
}

function mapErrors(m: Mapper, errors: readonly ErrorObject[]): void {
  const selectorGroups = new Map<string, { segs: string[]; errors: ErrorObject[] }>();
  const handledPointers = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if') continue;
    const segs = pointerSegments(e.instancePath);
    const sel = selectorPath(m.kind, segs);
    if (sel !== undefined) {
      const key = toPointer(sel);
      const group = selectorGroups.get(key) ?? { segs: sel, errors: [] };
      group.errors.push(e);
      selectorGroups.set(key, group);
      continue;
    }
    if (m.kind === 'ReplicationJobSet' && e.instancePath === '/spec') {
      if (e.keyword === 'anyOf') {
        emit(m, 'SMSR-M039', 'a ReplicationJobSet needs spec.servers or spec.match', at(m, ['spec'], 'key'),
          'list servers (spec.servers: [{server: {vmName: ...}}]) or select them (spec.match: {vmNameGlob: ...})');
        continue;
      }
      if (e.keyword === 'required' && ['servers', 'match'].includes(String(e.params['missingProperty']))) continue;
    }
    const last = segs[segs.length - 1];
    if (last !== undefined && isJobTimestampField(last) && (e.keyword === 'format' || e.keyword === 'pattern')) {
      if (handledPointers.has(e.instancePath)) continue;
      handledPointers.add(e.instancePath);
      timestampError(m, segs, valueAt(m.doc.value, segs));
      continue;
    }
    if (e.instancePath === '/metadata/name' && ['pattern', 'maxLength', 'minLength'].includes(e.keyword)) {
      if (handledPointers.has(e.instancePath)) continue;
      handledPointers.add(e.instancePath);
      nameError(m, valueAt(m.doc.value, segs));
      continue;
    }
    mapError(m, e, segs);
  }
  for (const { segs, errors: group } of selectorGroups.values()) explainSelector(m, segs, group);
}

function mapError(m: Mapper, e: ErrorObject, segs: readonly string[]): void {
  const path = displayPath(segs);
  const value = valueAt(m.doc.value, segs);
  const schema: SchemaNode = isSchemaNode(e.parentSchema) ? e.parentSchema : {};
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      unknownField(m, segs, key, schema);
      return;
    }
    case 'required': {
      const missing = String(e.params['missingProperty']);
      const pos = { ...at(m, segs, 'key'), pointer: toPointer([...segs, missing]) };
      emit(m, 'SMSR-M031', `${displayPath([...segs, missing])} is required`, pos, requiredHint(segs, missing));
      return;
    }
    case 'type': {
      const expected = String(e.params['type']);
      const fraction = expected === 'integer' && typeof value === 'number';
      const summary = fraction
        ? `${path} must be a whole number, got ${value as number}`
        : `${path} must be ${TYPE_WORDS[expected] ?? expected}, got ${describeValue(value)}`;
      emit(m, 'SMSR-M032', summary, at(m, segs), typeHint(segs, expected, value, schema));
      return;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      emit(m, 'SMSR-M033', `${path} must be ${rangeText(schema)}, got ${String(value)}`, at(m, segs), rangeHint(segs));
      return;
    case 'enum': {
      const allowed = (Array.isArray(e.params['allowedValues']) ? e.params['allowedValues'] : []).map(String);
      const guess = typeof value === 'string' ? closestMatch(value, allowed) : undefined;
      emit(m, 'SMSR-M034', `${path} must be one of ${allowed.join(', ')}; got ${describeValue(value)}`, at(m, segs),
        guess === undefined ? undefined : `did you mean ${guess}? (values are case-sensitive)`);
      return;
    }
    case 'const': {
      const allowed: unknown = e.params['allowedValue'];
      emit(m, 'SMSR-M034', `${path} must be ${JSON.stringify(allowed)}, got ${describeValue(value)}`, at(m, segs), constHint(segs));
      return;
    }
    case 'pattern':
      emit(m, 'SMSR-M038', `${path} ${describeValue(value)} is not in the expected form`, at(m, segs),
        typeof schema['description'] === 'string' ? schema['description'] : `it must match ${String(e.params['pattern'])}`);
      return;
    case 'minLength':
      emit(m, 'SMSR-M038', `${path} must not be empty`, at(m, segs));
      return;
    case 'maxLength':
      emit(m, 'SMSR-M038', `${path} is longer than ${String(e.params['limit'])} characters`, at(m, segs));
      return;
    case 'minItems':
      emit(m, 'SMSR-M038', `${path} must not be an empty list`, at(m, segs), 'list at least one entry, or remove the field');
      return;
    case 'minProperties': {
      const keys = Object.keys(isSchemaNode(schema['properties']) ? schema['properties'] : {});
      emit(m, 'SMSR-M038', `${path} must set at least one of ${keys.join(', ')}`, at(m, segs, 'key'));
      return;
    }
    case 'format':
      emit(m, 'SMSR-M038', `${path} is not a valid ${String(e.params['format'])}`, at(m, segs));
      return;
    default:
      emit(m, 'SMSR-M038', `${path} ${e.message ?? 'is not valid'}`, at(m, segs));
  }
}

function unknownField(m: Mapper, parent: readonly string[], key: string, parentSchema: SchemaNode): void {
  const allowed = Object.keys(isSchemaNode(parentSchema['properties']) ? parentSchema['properties'] : {});
  const where = parent.length === 0 ? 'the document' : displayPath(parent);
  const pos = at(m, [...parent, key], 'key');
  const parentLast = parent[parent.length - 1];
  // A selector key one level too high reads like a typo of "server": say where it goes instead.
  const misplacedSelector = allowed.includes('server') && (SELECTOR_KEYS as readonly string[]).includes(key);
  let hint = misplacedSelector ? `the server selector goes under server:, e.g. server: {${key}: ...}` : didYouMean(key, allowed);
  if (key === '<<') {
    hint = 'YAML 1.2 has no merge keys: write the fields out, or share them with a ReplicationJobSet template';
  } else if (hint === undefined && m.kind === 'ReplicationJobSet' && parent.length === 1 && (JOB_SPEC_FIELDS as readonly string[]).includes(key)) {
    hint = 'job fields of a ReplicationJobSet go under spec.template, or per server in spec.servers';
  } else if (hint === undefined && m.kind === 'ReplicationJob' && parent.length === 1 && ['template', 'servers', 'match'].includes(key)) {
    hint = `${key} belongs to kind: ReplicationJobSet`;
  } else if (hint === undefined && parentLast === 'metadata') {
    hint = 'metadata has name, labels and annotations only';
  }
  hint ??= allowed.length > 0 ? `allowed here: ${allowed.join(', ')}` : undefined;
  emit(m, 'SMSR-M030', `unknown field "${key}" in ${where}`, pos, hint);
}

function requiredHint(parent: readonly string[], missing: string): string | undefined {
  if (missing === 'server') return SELECTOR_HINT;
  if (missing === 'name' && parent[0] === 'metadata') return 'add metadata.name: lowercase letters, digits and -, e.g. web-01';
  if (missing === 'metadata') return 'add metadata: {name: ...}';
  if (missing === 'spec') return 'add the spec of this kind';
  if (missing === 'imported') return 'add imported: true';
  if (missing === 'associated') return 'add associated: false';
  if (missing === 'token') return 'onDemandRun needs a token; change the token to request another run';
  return undefined;
}

function typeHint(segs: readonly string[], expected: string, value: unknown, schema: SchemaNode): string | undefined {
  const last = segs[segs.length - 1] ?? '';
  if (isJobTimestampField(last)) return 'write an RFC 3339 date-time with a timezone, e.g. 2026-03-01T02:00:00Z';
  if (expected === 'integer' && typeof value === 'number') return `use a whole number ${rangeText(schema)}`;
  if (expected === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return 'remove the quotes: numbers are written without them';
  if (expected === 'boolean' && typeof value === 'string' && /^(true|false|yes|no|on|off)$/i.test(value)) {
    return 'write true or false without quotes (YAML 1.2: yes/no/on/off are strings)';
  }
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return `quote it: "${String(value)}"`;
  return undefined;
}

function rangeHint(segs: readonly string[]): string | undefined {
  const last = segs[segs.length - 1];
  if (last === 'frequency') return 'frequency is in hours: 1 to 24';
  if (last === 'numberOfRecentAmisToKeep') return 'keep 0 (all) to 270 AMIs';
  return undefined;
}

function constHint(segs: readonly string[]): string | undefined {
  const last = segs[segs.length - 1];
  if (last === 'imported') return 'a ServerCatalog document declares that the catalog is imported; remove the document to stop managing it';
  if (last === 'associated') return 'a Connector document declares that the connector is disassociated; remove the document to stop managing it';
  return undefined;
}

function timestampError(m: Mapper, segs: readonly string[], value: unknown): void {
  const text = typeof value === 'string' ? value : String(value);
  const parsed = parseRfc3339(text);
  const reason = parsed.ok ? 'is not an RFC 3339 date-time' : parsed.reason;
  const hint = parsed.ok ? 'write an RFC 3339 date-time with a timezone, e.g. 2026-03-01T02:00:00Z' : parsed.hint;
  emit(m, 'SMSR-M036', `${displayPath(segs)} ${JSON.stringify(text)} ${reason}`, at(m, segs), hint);
}

/** A name that is address-safe, derived from `name`, or undefined. */
export function suggestName(name: string): string | undefined {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_MAX_LENGTH)
    .replace(/-+$/, '');
  return s === '' || s === name ? undefined : s;
}

function nameError(m: Mapper, value: unknown): void {
  const name = typeof value === 'string' ? value : '';
  let why: string;
  if (name === '') why = 'is empty';
  else if (name.length > NAME_MAX_LENGTH) why = `is ${name.length} characters long, more than ${NAME_MAX_LENGTH}`;
  else if (/[A-Z]/.test(name)) why = 'has uppercase letters';
  else if (/[^a-z0-9-]/.test(name)) why = 'has characters other than a-z, 0-9 and -';
  else why = 'must start and end with a letter or digit';
  const suggestion = suggestName(name);
  const hint = `names are lowercase letters, digits and -, at most ${NAME_MAX_LENGTH} characters${suggestion === undefined ? '' : `: try "${suggestion}"`}`;
  emit(m, 'SMSR-M035', `metadata.name ${JSON.stringify(name)} ${why}`, at(m, ['metadata', 'name']), hint);
}

/** One diagnosis for a failing server selector, whatever the number of oneOf branch errors. */
function explainSelector(m: Mapper, segs: readonly string[], errors: readonly ErrorObject[]): void {
  const path = displayPath(segs);
  const value = valueAt(m.doc.value, segs);
  const pos = at(m, segs, 'key');
  if (!isRecord(value)) {
    let hint = SELECTOR_HINT;
    if (typeof value === 'string') hint = /^s-[0-9a-f]+$/.test(value) ? `write ${segs[segs.length - 1]}: {serverId: ${value}}` : `write ${segs[segs.length - 1]}: {vmName: ${value}}`;
    emit(m, 'SMSR-M037', `${path} must be a mapping that picks one server, got ${describeValue(value)}`, pos, hint);
    return;
  }
  const keys = Object.keys(value);
  const unknown = keys.filter((k) => !(SELECTOR_KEYS as readonly string[]).includes(k));
  for (const k of unknown) {
    emit(m, 'SMSR-M030', `unknown field "${k}" in ${path}`, at(m, [...segs, k], 'key'), didYouMean(k, SELECTOR_KEYS) ?? `a selector has ${SELECTOR_KEYS.join(', ')}`);
  }
  if (unknown.length > 0) return;
  const forms = SELECTOR_FORMS.filter((f) => f.keys.some((k) => keys.includes(k)));
  if (forms.length === 0) {
    emit(m, 'SMSR-M037', `${path} picks no server`, pos, SELECTOR_HINT);
    return;
  }
  if (forms.length > 1) {
    const used = forms.map((f) => f.keys.filter((k) => keys.includes(k)).join(' + ')).join(' and ');
    emit(m, 'SMSR-M037', `${path} mixes two ways of picking a server: ${used}`, pos, `keep exactly one: ${SELECTOR_HINT.replace('pick the server one way: ', '')}`);
    return;
  }
  const form = forms[0];
  if (form?.label === 'vmId + vmManagerId') {
    const missing = form.keys.filter((k) => !keys.includes(k));
    if (missing.length > 0) {
      emit(m, 'SMSR-M037', `${path} has ${keys.join(', ')} but no ${missing.join(', ')}`, pos, 'a VM address needs both vmId and vmManagerId');
      return;
    }
  }
  if (form?.label === 'vmName' && !keys.includes('vmName')) {
    emit(m, 'SMSR-M037', `${path} has ${keys.join(', ')} but no vmName`, pos, 'vmManagerName and vmPath narrow a vmName selector: add vmName');
    return;
  }
  // The shape is right: what is left are errors in the values themselves.
  let reported = false;
  for (const e of errors) {
    const esegs = pointerSegments(e.instancePath);
    if (esegs.length <= segs.length) continue;
    mapError(m, e, esegs);
    reported = true;
  }
  if (!reported) emit(m, 'SMSR-M037', `${path} is not a valid server selector`, pos, SELECTOR_HINT);
}

function semanticWarnings(m: Mapper, doc: ManifestDocument): void {
  if (doc.kind === 'ReplicationJob') {
    jobFieldWarnings(m, ['spec'], doc.spec, doc.spec);
  } else if (doc.kind === 'ReplicationJobSet') {
    const template = doc.spec.template ?? {};
    jobFieldWarnings(m, ['spec', 'template'], template, template);
    (doc.spec.servers ?? []).forEach((entry, i) => {
      jobFieldWarnings(m, ['spec', 'servers', i], entry, { ...template, ...ownJobFields(entry) });
    });
  }
}

function ownJobFields(fields: ManifestJobFields): ManifestJobFields {
  const out: Record<string, unknown> = {};
  for (const f of JOB_SPEC_FIELDS) if (fields[f] !== undefined) out[f] = fields[f];
  return out as ManifestJobFields;
}

/** Warnings about fields that have no effect, reported where `own` sets one of them. */
function jobFieldWarnings(m: Mapper, base: readonly PathSegment[], own: ManifestJobFields, effective: ManifestJobFields): void {
  const has = (f: JobSpecField): boolean => own[f] !== undefined;
  if (effective.runOnce === true && effective.frequency !== undefined && (has('runOnce') || has('frequency'))) {
    const field: JobSpecField = has('frequency') ? 'frequency' : 'runOnce';
    emit(m, 'SMSR-M040', `frequency ${effective.frequency} has no effect with runOnce: true`, { ...m.doc.locator.locate([...base, field], 'key') },
      'a one-time job runs once; remove frequency, or set runOnce: false');
  }
  if (effective.encrypted === false && effective.kmsKeyId !== undefined && (has('encrypted') || has('kmsKeyId'))) {
    const field: JobSpecField = has('kmsKeyId') ? 'kmsKeyId' : 'encrypted';
    emit(m, 'SMSR-M041', 'kmsKeyId has no effect with encrypted: false', m.doc.locator.locate([...base, field], 'key'),
      'set encrypted: true to use the key, or remove kmsKeyId');
  }
}
