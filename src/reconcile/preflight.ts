import { isDeferred, type Change, type PlanWarning } from './change.ts';
import type { ObservedSet } from './observed.ts';
import type { QuotaView } from './quota.ts';

/** Preflight: what a plan's changes would run into at apply time (connectors) and what waits for the concurrent-job limit. Pure. */

/** Warnings for what would fail at apply time. */
export function preflight(changes: readonly Change[], observed: ObservedSet, warnings: PlanWarning[]): void {
  const healthy = new Set(observed.connectors.filter((c) => c.status === 'HEALTHY' && c.vmManagerId).map((c) => c.vmManagerId));
  const disassociating = new Set(changes.filter((c) => c.action === 'disassociate-connector').map((c) => c.connectorId));
  const healthyAfter = new Set(
    observed.connectors.filter((c) => c.status === 'HEALTHY' && !disassociating.has(c.connectorId)).map((c) => c.vmManagerId),
  );
  for (const c of changes) {
    if ((c.action !== 'create' && c.action !== 'replace') || isDeferred(c)) continue;
    const server = observed.servers.get(c.serverId);
    const manager = server?.vmServer.vmServerAddress?.vmManagerId;
    if (manager === undefined) continue;
    if (!healthy.has(manager) || !healthyAfter.has(manager)) {
      warnings.push({
        code: 'no-healthy-connector',
        message: `${c.address}: no healthy connector serves ${server?.vmServer.vmManagerName ?? manager}${healthy.has(manager) ? ' once the planned disassociation is done' : ''}; CreateReplicationJob will fail with NoConnectorsAvailableException`,
        address: c.address,
      });
    }
  }
}

/** The warning for a plan whose creates wait for the account's concurrent-job limit (reconcile/quota.ts), or none. */
export function quotaWarning(changes: readonly Change[], quota: QuotaView): PlanWarning[] {
  const waiting = changes.filter((c) => c.gatedBy?.kind === 'quota').length;
  if (waiting === 0) return [];
  return [{
    code: 'concurrent-job-limit',
    message: `${waiting} job(s) wait for quota: ${quota.inUse} of ${quota.limit} concurrent jobs in use (--max-concurrent-jobs). They are created as slots free up: cut over migrated servers (spec.cutover: true) to retire their jobs, or raise the flag once AWS Support has raised the account's limit`,
  }];
}
