import { ApiError, invalidParameter, notPermitted } from '../errors.ts';
import { ID_PATTERNS } from '../ids.ts';
import { coveredVmManagers } from '../lifecycle.ts';
import type { Handler } from './context.ts';
import { maxResults, nextToken, optionalString, requiredString, type Input } from './input.ts';
import { wireConnector, wireServer } from './wire.ts';

interface AddressFilter {
  readonly vmId: string | undefined;
  readonly vmManagerId: string | undefined;
}

function addressFilters(input: Input): AddressFilter[] | undefined {
  const raw = input['vmServerAddressList'];
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    throw new ApiError('SerializationException', "Member 'vmServerAddressList' must be a list of VmServerAddress objects.");
  }
  if (raw.length > 100) throw invalidParameter('vmServerAddressList may hold at most 100 addresses.');
  return raw.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ApiError('SerializationException', `vmServerAddressList[${i}] must be a VmServerAddress object.`);
    }
    const o = item as Input;
    return { vmId: optionalString(o, 'vmId', 255), vmManagerId: optionalString(o, 'vmManagerId', 255) };
  });
}

export const getServers: Handler = (ctx, input) => {
  const limit = maxResults(input);
  const filters = addressFilters(input);
  const catalog = ctx.store.catalog();
  const binding = filters ? JSON.stringify(filters) : '';
  const cursor = ctx.tokens.decode(nextToken(input), 'GetServers', binding, ctx.store.maxSeq('servers'), 0);
  const base = { lastModifiedOn: catalog.lastModifiedOn, serverCatalogStatus: catalog.status };
  if (catalog.status !== 'AVAILABLE') return { ...base, serverList: [] };
  const matches = (s: { vmId: string; vmManagerId: string }): boolean =>
    !filters || filters.some((f) => (f.vmId === undefined || f.vmId === s.vmId) && (f.vmManagerId === undefined || f.vmManagerId === s.vmManagerId));
  // Read in chunks so a filter that keeps few servers still fills the page.
  const out = [];
  let after = cursor.after;
  let more = false;
  for (;;) {
    const rows = ctx.store.serversPage(after, cursor.highWater, 500);
    for (const r of rows) {
      after = r.seq;
      if (!matches(r)) continue;
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push(r);
    }
    if (more || rows.length < 500) break;
  }
  const last = out[out.length - 1];
  return {
    ...base,
    serverList: out.map((s) => wireServer(ctx, s)),
    nextToken: more && last ? ctx.tokens.encode('GetServers', binding, { after: last.seq, highWater: cursor.highWater }) : undefined,
  };
};

export const importServerCatalog: Handler = (ctx) => {
  const catalog = ctx.store.catalog();
  if (catalog.status === 'IMPORTING') throw notPermitted('A server catalog import is already in progress.');
  if (coveredVmManagers(ctx).size === 0) throw new ApiError('NoConnectorsAvailableException');
  ctx.store.setCatalog({ status: 'IMPORTING', lastModifiedOn: ctx.now, importStartedAt: ctx.now });
  return {};
};

export const deleteServerCatalog: Handler = (ctx) => {
  const catalog = ctx.store.catalog();
  if (catalog.status === 'IMPORTING') throw notPermitted('The server catalog cannot be deleted while an import is in progress.');
  ctx.store.clearCatalog();
  ctx.store.setCatalog({ status: 'DELETED', lastModifiedOn: ctx.now, importStartedAt: null });
  return {};
};

export const getConnectors: Handler = (ctx, input) => {
  const limit = maxResults(input);
  const cursor = ctx.tokens.decode(nextToken(input), 'GetConnectors', '', ctx.store.maxSeq('connectors'), 0);
  const rows = ctx.store.connectorsPage(cursor.after, cursor.highWater, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    connectorList: page.map(wireConnector),
    nextToken: rows.length > limit && last ? ctx.tokens.encode('GetConnectors', '', { after: last.seq, highWater: cursor.highWater }) : undefined,
  };
};

export const disassociateConnector: Handler = (ctx, input) => {
  const id = requiredString(input, 'connectorId', 64);
  if (!ID_PATTERNS.connector.test(id)) throw invalidParameter(`connectorId '${id}' is not a connector id (c- followed by 17 hex digits).`);
  const c = ctx.store.connector(id);
  if (!c || c.disassociatedAt !== null) throw invalidParameter(`The connector ${id} is not associated with this account.`);
  ctx.store.disassociateConnector(id, ctx.now);
  return {};
};
