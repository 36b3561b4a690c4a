/**
 * The manifest JSON Schema (schemas/manifest.v1.schema.json), imported once for validate.ts, the
 * reference generator and tests. The schema file is the contract editors read; nothing here
 * changes it.
 */
import { SmsReconcileError } from '../model/errors.ts';
import schemaJson from '../../schemas/manifest.v1.schema.json' with { type: 'json' };

/** A JSON Schema node, loosely typed: readers check each keyword they use. */
export interface SchemaNode {
  readonly [keyword: string]: unknown;
}

export const MANIFEST_SCHEMA: SchemaNode = schemaJson;
export const MANIFEST_SCHEMA_ID = schemaJson.$id;

/** The custom keyword that marks each job field with its FieldPolicy. */
export const POLICY_KEYWORD = 'x-sms-policy';

export function isSchemaNode(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows a local `$ref` (`#/$defs/name`) to its target; other nodes are returned as they are. */
export function resolveRef(node: SchemaNode, root: SchemaNode = MANIFEST_SCHEMA): SchemaNode {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  if (!ref.startsWith('#/')) throw schemaBug(`non-local $ref ${ref}`);
  let cur: unknown = root;
  for (const seg of ref.slice(2).split('/')) cur = isSchemaNode(cur) ? cur[seg] : undefined;
  if (!isSchemaNode(cur)) throw schemaBug(`dangling $ref ${ref}`);
  return resolveRef(cur, root);
}

/** The `properties` of an object schema, with refs resolved, in schema order. */
export function schemaProperties(node: SchemaNode, root: SchemaNode = MANIFEST_SCHEMA): [string, SchemaNode][] {
  const props = node['properties'];
  if (!isSchemaNode(props)) return [];
  return Object.entries(props).flatMap(([k, v]) => (isSchemaNode(v) ? [[k, resolveRef(v, root)] as [string, SchemaNode]] : []));
}

/** The schema under `$defs/<name>`. */
export function schemaDef(name: string, root: SchemaNode = MANIFEST_SCHEMA): SchemaNode {
  const defs = root['$defs'];
  const def = isSchemaNode(defs) ? defs[name] : undefined;
  if (!isSchemaNode(def)) throw schemaBug(`no $defs/${name} in the manifest schema`);
  return def;
}

function schemaBug(message: string): SmsReconcileError {
  return new SmsReconcileError('manifest-schema-invalid', message, { source: 'internal' });
}
