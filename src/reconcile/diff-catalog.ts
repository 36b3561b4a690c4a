import type { DesiredSet } from '../model/desired.ts';
import type { Change, PlanWarning } from './change.ts';
import { base, made } from './change-make.ts';
import type { ObservedSet } from './observed.ts';

/** The ServerCatalog documents: import the catalog, or nothing when it is AVAILABLE and fresh. Pure. */

export interface CatalogPlan {
  readonly changes: Change[];
  /** The catalog is AVAILABLE now. */
  readonly available: boolean;
  /** An import is planned and the catalog is not AVAILABLE: every job waits for the import. */
  readonly deferAll: boolean;
}

export function diffCatalog(desired: DesiredSet, observed: ObservedSet, now: number, warnings: PlanWarning[]): CatalogPlan {
  const changes: Change[] = [];
  const available = observed.catalog.status === 'AVAILABLE';
  let importPlanned = false;
  for (const cat of desired.catalogs.values()) {
    const stale = cat.maxAgeHours !== undefined && (observed.catalog.lastModifiedOn ?? 0) < now - cat.maxAgeHours * 3600;
    if (available && !stale) {
      changes.push(made(base(cat.address, 'ServerCatalog', 'no-op', 'the catalog is AVAILABLE'), { source: cat.source }));
      continue;
    }
    importPlanned = true;
    const reason =
      observed.catalog.status === 'IMPORTING'
        ? 'an import is in progress; apply waits for it to finish'
        : available
          ? `the catalog is older than maxAgeHours (${cat.maxAgeHours})`
          : `the catalog is ${observed.catalog.status}`;
    changes.push(made(base(cat.address, 'ServerCatalog', 'import-catalog', reason), { source: cat.source }));
  }
  if (!available && !importPlanned) {
    warnings.push({
      code: 'catalog-not-imported',
      message: `the server catalog is ${observed.catalog.status}: jobs cannot be created until it is imported (add a ServerCatalog document with spec.imported: true)`,
    });
  }
  return { changes, available, deferAll: importPlanned && !available };
}
