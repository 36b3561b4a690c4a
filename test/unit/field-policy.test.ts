// The one field-policy table against the schema's x-sms-policy markers, both ways, and the service
// defaults diff relies on.
import { describe, expect, it } from 'vitest';
import { FIELD_POLICY, POLICY_FIELDS, forcesReplacement, serviceDefaultFor, type PolicyField } from '../../src/model/field-policy.ts';
import { JOB_SPEC_FIELDS } from '../../src/model/job.ts';
import { isSchemaNode, MANIFEST_SCHEMA, POLICY_KEYWORD, resolveRef, schemaDef, type SchemaNode } from '../../src/manifest/schema.ts';

/** Every schema node carrying the marker, by the $defs name it lives under. */
function markedDefs(): Map<string, string> {
  const out = new Map<string, string>();
  const defs = MANIFEST_SCHEMA['$defs'] as Record<string, SchemaNode>;
  for (const [name, def] of Object.entries(defs)) {
    const m = def[POLICY_KEYWORD];
    if (m !== undefined) out.set(name, String(m));
  }
  return out;
}

/** Every node anywhere in the schema that carries the marker (to catch markers outside $defs). */
function allMarkers(node: unknown, at: string, out: string[]): string[] {
  if (Array.isArray(node)) node.forEach((n, i) => allMarkers(n, `${at}/${i}`, out));
  else if (isSchemaNode(node)) {
    if (POLICY_KEYWORD in node) out.push(at);
    for (const [k, v] of Object.entries(node)) allMarkers(v, `${at}/${k}`, out);
  }
  return out;
}

describe('field policy table <-> schema markers', () => {
  it('the schema marks exactly the table fields, with the same policy', () => {
    const marked = markedDefs();
    const fromSchema = [...marked.entries()].sort();
    const fromTable = POLICY_FIELDS.map((f) => [f, FIELD_POLICY[f].policy]).sort();
    expect(fromSchema).toEqual(fromTable);
  });

  it('markers live only on the field definitions', () => {
    expect(allMarkers(MANIFEST_SCHEMA, '#', []).sort()).toEqual(POLICY_FIELDS.map((f) => `#/$defs/${f}`).sort());
  });

  it('every job-field container lists exactly the job fields, in JOB_SPEC_FIELDS order', () => {
    const jobFieldsOf = (def: string): string[] =>
      Object.entries(schemaDef(def)['properties'] as Record<string, SchemaNode>)
        .filter(([, v]) => typeof resolveRef(v)[POLICY_KEYWORD] === 'string' && v['$ref'] !== '#/$defs/serverId')
        .map(([k]) => k);
    for (const def of ['replicationJobSpec', 'jobTemplate', 'serverEntry']) expect(jobFieldsOf(def), def).toEqual([...JOB_SPEC_FIELDS]);
    // Each job-field property refers to the $defs entry of the same name (one definition per field).
    for (const def of ['replicationJobSpec', 'jobTemplate', 'serverEntry']) {
      const props = schemaDef(def)['properties'] as Record<string, SchemaNode>;
      for (const f of JOB_SPEC_FIELDS) expect(props[f]).toEqual({ $ref: `#/$defs/${f}` });
    }
  });

  it('serverId is first, then the job fields in order', () => {
    expect(POLICY_FIELDS).toEqual(['serverId', ...JOB_SPEC_FIELDS]);
  });

  it('timestamps are exactly the date-time fields of the schema', () => {
    const dateTimes = POLICY_FIELDS.filter((f) => schemaDef(f)['format'] === 'date-time');
    const flagged = POLICY_FIELDS.filter((f) => FIELD_POLICY[f].timestamp === true);
    expect(flagged).toEqual(dateTimes);
    expect(flagged).toEqual(['seedReplicationTime', 'nextReplicationRunStartTime']);
  });
});

describe('the policies ARCHITECTURE.md section 3 states', () => {
  it('serverId and runOnce force replacement, seedReplicationTime is create-only, the rest update in place', () => {
    const byPolicy = (p: string): PolicyField[] => POLICY_FIELDS.filter((f) => FIELD_POLICY[f].policy === p);
    expect(byPolicy('forces-replace')).toEqual(['serverId', 'runOnce']);
    expect(byPolicy('create-only')).toEqual(['seedReplicationTime']);
    expect(byPolicy('updatable')).toEqual([
      'frequency', 'nextReplicationRunStartTime', 'licenseType', 'roleName', 'description', 'numberOfRecentAmisToKeep', 'encrypted', 'kmsKeyId',
    ]);
    expect(forcesReplacement('runOnce')).toBe(true);
    expect(forcesReplacement('frequency')).toBe(false);
  });
});

describe('service defaults', () => {
  it('frequency defaults to 24 unless the job runs once', () => {
    expect(serviceDefaultFor('frequency', {})).toBe(24);
    expect(serviceDefaultFor('frequency', { runOnce: false })).toBe(24);
    expect(serviceDefaultFor('frequency', { runOnce: true })).toBeUndefined();
  });

  it('numberOfRecentAmisToKeep 0, encrypted false, runOnce false; no default for the others', () => {
    expect(serviceDefaultFor('numberOfRecentAmisToKeep', {})).toBe(0);
    expect(serviceDefaultFor('encrypted', {})).toBe(false);
    expect(serviceDefaultFor('runOnce', {})).toBe(false);
    for (const f of ['seedReplicationTime', 'nextReplicationRunStartTime', 'licenseType', 'roleName', 'description', 'kmsKeyId'] as const) {
      expect(serviceDefaultFor(f, {}), f).toBeUndefined();
    }
  });

  it('each default has the type the schema gives its field', () => {
    for (const f of JOB_SPEC_FIELDS) {
      const def = FIELD_POLICY[f].serviceDefault;
      if (def === undefined) continue;
      const type = schemaDef(f)['type'];
      expect(type === 'integer' ? Number.isInteger(def.value) : typeof def.value === type, f).toBe(true);
    }
  });

  it('the schema descriptions name each service default', () => {
    for (const f of JOB_SPEC_FIELDS) {
      const def = FIELD_POLICY[f].serviceDefault;
      if (def === undefined) continue;
      expect(String(schemaDef(f)['description']), f).toContain(`Service default: ${String(def.value)}`);
    }
  });
});
