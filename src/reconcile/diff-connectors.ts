import type { DesiredSet } from '../model/desired.ts';
import type { Change } from './change.ts';
import { base, made } from './change-make.ts';
import type { ObservedSet } from './observed.ts';

/** The Connector documents: a connector the manifests name is disassociated while it is associated. Pure. */

export function diffConnectors(desired: DesiredSet, observed: ObservedSet): Change[] {
  const associated = new Set(observed.connectors.map((c) => c.connectorId));
  const changes: Change[] = [];
  for (const con of desired.connectors.values()) {
    if (associated.has(con.connectorId)) {
      changes.push(made(base(con.address, 'Connector', 'disassociate-connector', 'the manifest wants it disassociated'), { connectorId: con.connectorId, source: con.source }));
    } else {
      changes.push(made(base(con.address, 'Connector', 'no-op', 'not associated'), { connectorId: con.connectorId, source: con.source }));
    }
  }
  return changes;
}
