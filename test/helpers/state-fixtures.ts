/** Builders for state records and documents used by the state tests and the bench. */
import { randomUUID } from 'node:crypto';
import type { ResourceRecord, StateDocument, TargetIdentity } from '../../src/state/codec.ts';

export const TARGET: TargetIdentity = { endpoint: 'embedded', region: 'us-east-1', kind: 'embedded', id: 'emb-0123456789abcdef' };

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/** A ReplicationJobSet record for server number `n` of set `set`, version `version`. */
export function jobRecord(n: number, version = 1, set = 'fleet'): ResourceRecord {
  const serverId = `s-${hex8(n)}`;
  return {
    address: `ReplicationJobSet/${set}[${serverId}]`,
    kind: 'ReplicationJobSet',
    replicationJobId: `sms-job-${hex8(n + 0x10000000)}`,
    serverId,
    appliedSpec: {
      frequency: 12,
      licenseType: 'AWS',
      roleName: 'sms',
      description: `wave 1 server ${n} v${version}`,
      numberOfRecentAmisToKeep: 3,
      encrypted: false,
    },
    observed: { observedAt: '2026-03-01T12:00:00.000Z', state: 'ACTIVE', frequency: 12, latestAmiId: `ami-${hex8(n)}0000000000a` },
    preventDestroy: n % 7 === 0,
    updatedAt: '2026-03-01T12:00:00.000Z',
  };
}

/** A ReplicationJob record under `ReplicationJob/<name>`. */
export function namedJob(name: string, serverId = 's-0000abcd', description = 'web'): ResourceRecord {
  return {
    address: `ReplicationJob/${name}`,
    kind: 'ReplicationJob',
    replicationJobId: 'sms-job-0000abcd',
    serverId,
    appliedSpec: { frequency: 24, description },
    preventDestroy: false,
    updatedAt: '2026-03-01T12:00:00.000Z',
  };
}

/** A valid state document with `count` job records. */
export function stateWith(count: number, overrides: Partial<StateDocument> = {}): StateDocument {
  const resources: Record<string, ResourceRecord> = {};
  for (let i = 0; i < count; i++) {
    const r = jobRecord(i);
    resources[r.address] = r;
  }
  return { formatVersion: 1, lineage: randomUUID(), serial: 1, target: TARGET, resources, pending: [], ...overrides };
}
