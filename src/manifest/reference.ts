/**
 * The manifest reference (Markdown) generated from schemas/manifest.v1.schema.json and the
 * diagnostic-code table, so the README cannot drift from either: README.md holds this text between
 * `<!-- BEGIN manifest-reference -->` and `<!-- END manifest-reference -->`, a test checks it, and
 * `node --import tsx scripts/gen-manifest-reference.ts` rewrites it.
 *
 * Invariants: pure and deterministic (the same schema gives the same text, byte for byte); every
 * property of every kind appears in a table, with its type and constraints, whether it is required,
 * its field policy (from the schema's x-sms-policy markers) and its description.
 */
import { DIAGNOSTIC_CODES, type DiagnosticCodeInfo } from './diagnostics.ts';
import { isSchemaNode, MANIFEST_SCHEMA, POLICY_KEYWORD, resolveRef, schemaDef, schemaProperties, type SchemaNode } from './schema.ts';
import { extractSection, markers, replaceSection } from '../report/doc-sections.ts';

const REFERENCE_SECTION = 'manifest-reference';
export const { begin: REFERENCE_BEGIN, end: REFERENCE_END } = markers(REFERENCE_SECTION);

interface Row {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly policy: string;
  readonly description: string;
}

/** Text safe in Markdown (and in a table cell): no HTML, emphasis or cell breaks by accident. */
function md(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}

/** A table cell that may contain code spans (produced here, already safe). */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(s: string): string {
  return '`' + s + '`';
}

function refName(node: SchemaNode): string | undefined {
  const ref = node['$ref'];
  return typeof ref === 'string' ? ref.replace('#/$defs/', '') : undefined;
}

/** Type and constraints of a schema node, for people. */
export function typeText(raw: SchemaNode): string {
  const node = resolveRef(raw);
  if ('const' in node) return code(JSON.stringify(node['const']));
  if (Array.isArray(node['enum'])) return `one of ${node['enum'].map((v) => code(String(v))).join(', ')}`;
  const type = node['type'];
  const parts: string[] = [];
  const min = node['minimum'];
  const max = node['maximum'];
  switch (type) {
    case 'integer':
    case 'number':
      parts.push(type === 'integer' ? 'whole number' : 'number');
      if (typeof min === 'number' && typeof max === 'number') parts.push(`${min} to ${max}`);
      else if (typeof min === 'number') parts.push(`≥ ${min}`);
      else if (typeof max === 'number') parts.push(`≤ ${max}`);
      break;
    case 'string':
      if (node['format'] === 'date-time') {
        parts.push('RFC 3339 date-time with timezone');
        break;
      }
      parts.push('string');
      if (typeof node['pattern'] === 'string') parts.push(`matching ${code(node['pattern'])}`);
      if (typeof node['maxLength'] === 'number') parts.push(`at most ${node['maxLength']} characters`);
      else if (node['minLength'] === 1) parts.push('not empty');
      break;
    case 'boolean':
      parts.push('boolean');
      break;
    case 'array':
      parts.push(node['minItems'] === 1 ? 'non-empty list' : 'list');
      break;
    case 'object': {
      const ap = node['additionalProperties'];
      if (isSchemaNode(ap)) parts.push(`map of ${typeText(ap)}`);
      else if (Array.isArray(node['oneOf'])) parts.push('server selector');
      else parts.push('mapping');
      break;
    }
    default:
      parts.push(String(type ?? 'any'));
  }
  return parts.join(', ');
}

function policyOf(raw: SchemaNode): string {
  const node = resolveRef(raw);
  const marker = node[POLICY_KEYWORD];
  if (typeof marker === 'string') return marker;
  if (refName(raw) === 'serverSelector') {
    const m = schemaDef('serverId')[POLICY_KEYWORD];
    return typeof m === 'string' ? `${m} (another server)` : '';
  }
  return '';
}

function descriptionOf(raw: SchemaNode): string {
  const d = resolveRef(raw)['description'];
  return typeof d === 'string' ? d : '';
}

function requiredOf(node: SchemaNode): string[] {
  const r = node['required'];
  return Array.isArray(r) ? r.map(String) : [];
}

/** Nested definitions listed field by field under their parent. */
const EXPANDED = new Set(['metadata', 'onDemandRun', 'lifecycle', 'serverMatch', 'serverEntry', 'jobTemplate']);

function isJobField(raw: SchemaNode): boolean {
  return typeof resolveRef(raw)[POLICY_KEYWORD] === 'string' && refName(raw) !== 'serverId';
}

/**
 * Rows for the properties of `node`, prefixed with `prefix`. With `collapseJobFields`, the job
 * fields of a nested object are one row pointing at the job-field table.
 */
function rows(prefix: string, node: SchemaNode, collapseJobFields: boolean): Row[] {
  const out: Row[] = [];
  const required = requiredOf(node);
  const props = node['properties'];
  if (!isSchemaNode(props)) return out;
  let collapsed = false;
  for (const [name, rawValue] of Object.entries(props)) {
    if (!isSchemaNode(rawValue)) continue;
    const field = `${prefix}${name}`;
    if (collapseJobFields && isJobField(rawValue)) {
      if (!collapsed) {
        out.push({ field: `${prefix}<job field>`, type: 'see [Job fields](#job-fields)', required: false, policy: '', description: 'Any of the job fields.' });
        collapsed = true;
      }
      continue;
    }
    const value = resolveRef(rawValue);
    const ref = refName(rawValue);
    out.push({ field, type: typeText(rawValue), required: required.includes(name), policy: policyOf(rawValue), description: descriptionOf(rawValue) });
    if (ref !== undefined && EXPANDED.has(ref)) {
      out.push(...rows(`${field}.`, value, true));
    } else if (value['type'] === 'array' && isSchemaNode(value['items'])) {
      const items = value['items'];
      const itemRef = refName(items);
      if (itemRef !== undefined && EXPANDED.has(itemRef)) out.push(...rows(`${field}[].`, resolveRef(items), true));
    }
  }
  return out;
}

function table(rs: readonly Row[], withPolicy: boolean): string[] {
  const head = withPolicy ? ['| Field | Type | Required | Policy | Description |', '|---|---|---|---|---|'] : ['| Field | Type | Required | Description |', '|---|---|---|---|'];
  return [
    ...head,
    ...rs.map((r) =>
      withPolicy
        ? `| ${code(r.field)} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.policy} | ${md(r.description)} |`
        : `| ${code(r.field)} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${md(r.description)} |`,
    ),
  ];
}

/** The kinds and their spec schemas, in the order of the root `allOf`. */
function kindSpecs(): { kind: string; spec: SchemaNode; specRef: SchemaNode }[] {
  const allOf = MANIFEST_SCHEMA['allOf'];
  if (!Array.isArray(allOf)) return [];
  return allOf.flatMap((branch: unknown) => {
    if (!isSchemaNode(branch) || !isSchemaNode(branch['if']) || !isSchemaNode(branch['then'])) return [];
    const ifProps = branch['if']['properties'];
    const kindNode = isSchemaNode(ifProps) ? ifProps['kind'] : undefined;
    const thenProps = branch['then']['properties'];
    const specRef = isSchemaNode(thenProps) ? thenProps['spec'] : undefined;
    if (!isSchemaNode(kindNode) || !isSchemaNode(specRef)) return [];
    return [{ kind: String(kindNode['const']), spec: resolveRef(specRef), specRef }];
  });
}

function diagnosticsTable(): string[] {
  const entries = Object.entries(DIAGNOSTIC_CODES) as [string, DiagnosticCodeInfo][];
  return ['| Code | Name | Severity | Reported when |', '|---|---|---|---|', ...entries.map(([c, i]) => `| ${c} | ${code(i.name)} | ${i.severity} | ${md(i.meaning)} |`)];
}

/** The whole reference, as it stands between the README markers (without them). */
export function renderManifestReference(): string {
  const lines: string[] = [];
  const push = (...ls: string[]): void => {
    lines.push(...ls);
  };
  push(
    '<!-- Generated from schemas/manifest.v1.schema.json by `node --import tsx scripts/gen-manifest-reference.ts`: edit the schema, then regenerate. -->',
    '',
    `Manifests are YAML files with one or more documents. ${md(descriptionOf(MANIFEST_SCHEMA))} Unknown fields are errors.`,
    'An editor with the YAML language server validates and completes a file that starts with',
    '`# yaml-language-server: $schema=<path to>/schemas/manifest.v1.schema.json` (every file in `examples/` does).',
    '`sms-reconcile validate -f PATH...` checks files and directories offline and reports every problem at once, as',
    '`file:line:col: error CODE: summary` with the source line and a hint.',
    '',
    'Field policy, per job field: **updatable** (changed in place), **forces-replace** (the job is deleted, then created',
    'again), **create-only** (set when the job is created; a later change is a warning, not a diff, unless `--replace ADDRESS`).',
    'A field absent from the manifest is not managed; values the service fills in or rounds (defaults, fractions of a',
    'second) never show as changes.',
    '',
    '### Every document',
    '',
  );
  const root = MANIFEST_SCHEMA;
  const rootRows: Row[] = [];
  for (const [name, node] of schemaProperties(root)) {
    const required = requiredOf(root).includes(name);
    rootRows.push({ field: name, type: typeText(node), required, policy: '', description: descriptionOf(node) });
    if (name === 'metadata') rootRows.push(...rows('metadata.', node, false));
  }
  push(...table(rootRows, false), '');
  for (const { kind, spec } of kindSpecs()) {
    push(`### kind: ${kind}`, '', md(descriptionOf(spec)), '');
    push(...table(rows('spec.', spec, true), false), '');
    const anyOf = spec['anyOf'];
    if (Array.isArray(anyOf)) {
      const alternatives = anyOf.flatMap((a: unknown) => (isSchemaNode(a) ? requiredOf(a) : [])).map((f) => code(`spec.${f}`));
      push(`At least one of ${alternatives.join(' and ')} is required.`, '');
    }
  }
  push(
    '### Job fields',
    '',
    'The fields of one replication job, spelled as the SMS API spells them, with their field policy. They appear in a',
    '`ReplicationJob` spec, a `ReplicationJobSet` template and each of its `servers` entries (where they override the template).',
    '',
  );
  const selectorRef: SchemaNode = { $ref: '#/$defs/serverSelector' };
  const jobRows: Row[] = [
    { field: 'server', type: typeText(selectorRef), required: false, policy: policyOf(selectorRef), description: 'The catalog server the job replicates (see Server selector below): another server means another job.' },
    ...rows('', schemaDef('jobTemplate'), false),
  ];
  push('| Field | Type | Policy | Description |', '|---|---|---|---|', ...jobRows.map((r) => `| ${code(r.field)} | ${cell(r.type)} | ${r.policy} | ${md(r.description)} |`), '');
  push('### Server selector', '', md(descriptionOf(schemaDef('serverSelector'))), '');
  const oneOf = schemaDef('serverSelector')['oneOf'];
  const forms: Row[] = [];
  if (Array.isArray(oneOf)) {
    for (const form of oneOf) {
      if (!isSchemaNode(form)) continue;
      const title = typeof form['title'] === 'string' ? form['title'] : '';
      for (const r of rows('', form, false)) forms.push({ ...r, description: `(${title}) ${r.description}` });
    }
  }
  push(...table(forms, false), '');
  push('### Diagnostics', '', 'Every diagnostic has a stable code (scripts may match on it), a severity, a summary, a position', '(file, line, column, JSON pointer) and usually a hint. Warnings fail `validate` only with `--strict`.', '');
  push(...diagnosticsTable());
  return lines.join('\n');
}

/** `readme` with the text between the markers replaced by the reference. */
export function withManifestReference(readme: string): string {
  return replaceSection(readme, REFERENCE_SECTION, renderManifestReference());
}

/** The text between the markers, or undefined when they are missing. */
export function extractManifestReference(readme: string): string | undefined {
  return extractSection(readme, REFERENCE_SECTION);
}
