import { isDeferred, type Change, type PlanWarning } from './change.ts';
import type { ObservedSet } from './observed.ts';
import { liveJobCount } from './quota.ts';
import { isHeld } from './waves.ts';

/** Preflight: what a plan's changes would run into at apply time (connectors, the concurrent-job limit). Pure. */

/** Warnings for what would fail at apply time. */
export function preflight(changes: readonly Change[], observed: ObservedSet, maxConcurrentJobs: number, warnings: PlanWarning[]): void {
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
  const live = liveJobCount(observed.allJobs);
  // Held creates (reconcile/waves.ts) are not made by this apply: they do not count.
  const creates = changes.filter((c) => c.action === 'create' && !isHeld(c)).length;
  const deletes = changes.filter((c) => c.action === 'delete' && !c.stateOnly).length;
  if (live + creates - deletes > maxConcurrentJobs) {
    warnings.push({
      code: 'concurrent-job-limit',
      message: `${live + creates - deletes} jobs would run at once, more than the account's limit of ${maxConcurrentJobs}: creates past it will fail with OperationNotPermittedException`,
    });
  }
}

