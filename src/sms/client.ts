import {
  CreateReplicationJobCommand, DeleteReplicationJobCommand, DeleteServerCatalogCommand, DisassociateConnectorCommand, GetConnectorsCommand,
  GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient,
  StartOnDemandReplicationRunCommand, UpdateReplicationJobCommand, type Connector, type ReplicationJob, type ReplicationRun,
  type Server, type VmServer as SdkVmServer,
} from '@aws-sdk/client-sms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpResponse } from '@smithy/protocol-http';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type {
  ConnectorInfo, CreateJobInput, ReplicationJobInfo, ReplicationRunInfo, ServerCatalog, ServerInfo, SmsAction, SmsApi, UpdateJobInput, VmServer,
} from './api.ts';
import { SMS_ACTIONS } from './api.ts';
import { SmsApiError } from './errors.ts';
import { AdaptiveRateLimiter, DEFAULT_RETRY_POLICY, realTiming, withRetries, type RetryPolicy, type RetryStats, type Timing } from './retry.ts';

export interface SdkSmsApiOptions {
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly retry?: RetryPolicy;
  readonly timing?: Timing;
  /** Shared by every caller of this client: throttling slows them all. */
  readonly limiter?: AdaptiveRateLimiter;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Network failures that a retry will not fix (nothing is listening, no such host). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** Network failures mid-request that a retry may fix. */
const TRANSIENT = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'TimeoutError', 'RequestTimeout', 'ECONNABORTED']);

/** The embedded server's manual clock, sent with each answer (src/server/BEHAVIOR.md); real SMS sends none. */
const SERVICE_CLOCK_HEADER = 'x-sms-reconcile-clock';

/** Page size: the largest the target accepts (our server: 100); falls back to the API default of 50. */
const PAGE_SIZES = [100, 50] as const;

/**
 * SmsApi over the official @aws-sdk/client-sms. Listings are paginated to completion at the
 * largest page size the target accepts; each HTTP request is retried under the retry policy and
 * counted; SDK errors become SmsApiError, and responses missing members the reconciler relies on
 * are `malformed-response` errors rather than surprises later.
 */
export class SdkSmsApi implements SmsApi {
  readonly client: SMSClient;
  readonly stats: RetryStats = { retries: 0, throttles: 0 };
  private readonly counts = Object.fromEntries(SMS_ACTIONS.map((a) => [a, 0])) as Record<SmsAction, number>;
  private readonly policy: RetryPolicy;
  private readonly timing: Timing;
  private readonly limiter: AdaptiveRateLimiter;
  private readonly endpointLabel: string;
  private pageSizeIndex = 0;
  /** Service time minus wall time, from the last answer that carried the service's clock (CLOCK_HEADER). */
  private clockOffsetMs = 0;

  constructor(opts: SdkSmsApiOptions) {
    this.client = new SMSClient({
      region: opts.region,
      endpoint: opts.endpoint,
      credentials: opts.credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
        requestTimeout: opts.requestTimeoutMs ?? 30_000,
      }),
    });
    this.policy = opts.retry ?? DEFAULT_RETRY_POLICY;
    this.timing = opts.timing ?? realTiming;
    this.limiter = opts.limiter ?? new AdaptiveRateLimiter(this.timing);
    this.endpointLabel = opts.endpoint ?? `the AWS endpoint for ${opts.region}`;
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const told = HttpResponse.isInstance(out.response) ? Number(out.response.headers[SERVICE_CLOCK_HEADER]) : NaN;
        if (Number.isFinite(told) && told > 0) this.clockOffsetMs = told * 1000 - Date.now();
        return out;
      },
      { step: 'deserialize', name: 'smsReconcileServiceClock' },
    );
  }

  serviceNow(wallMs: number): number {
    return wallMs + this.clockOffsetMs;
  }

  calls(): Readonly<Record<SmsAction, number>> {
    return { ...this.counts };
  }

  destroy(): void {
    this.client.destroy();
  }

  async getServers(onPage?: (page: readonly ServerInfo[]) => void): Promise<ServerCatalog> {
    const servers: ServerInfo[] = [];
    let status: ServerCatalog['status'] = 'NOT_IMPORTED';
    let lastModifiedOn: number | undefined;
    await this.paginate('GetServers', async (maxResults, nextToken) => {
      const out = await this.send('GetServers', () => this.client.send(new GetServersCommand({ maxResults, nextToken })));
      if (!out.serverCatalogStatus) throw malformed('GetServers', 'serverCatalogStatus is missing');
      status = out.serverCatalogStatus;
      lastModifiedOn = seconds(out.lastModifiedOn);
      const page = (out.serverList ?? []).map(toServer);
      for (const s of page) servers.push(s);
      onPage?.(page);
      return out.nextToken;
    });
    return { status, lastModifiedOn, servers };
  }

  async getServerCatalogStatus(): Promise<Omit<ServerCatalog, 'servers'>> {
    const out = await this.send('GetServers', () => this.client.send(new GetServersCommand({ maxResults: 1 })));
    if (!out.serverCatalogStatus) throw malformed('GetServers', 'serverCatalogStatus is missing');
    return { status: out.serverCatalogStatus, lastModifiedOn: seconds(out.lastModifiedOn) };
  }

  async getReplicationJobs(onPage?: (page: readonly ReplicationJobInfo[]) => void): Promise<ReplicationJobInfo[]> {
    const jobs: ReplicationJobInfo[] = [];
    await this.paginate('GetReplicationJobs', async (maxResults, nextToken) => {
      const out = await this.send('GetReplicationJobs', () => this.client.send(new GetReplicationJobsCommand({ maxResults, nextToken })));
      const page = (out.replicationJobList ?? []).map(toJob);
      for (const j of page) jobs.push(j);
      onPage?.(page);
      return out.nextToken;
    });
    return jobs;
  }

  async getReplicationJob(replicationJobId: string): Promise<ReplicationJobInfo | undefined> {
    try {
      const out = await this.send('GetReplicationJobs', () => this.client.send(new GetReplicationJobsCommand({ replicationJobId })));
      const j = out.replicationJobList?.[0];
      return j ? toJob(j) : undefined;
    } catch (e) {
      if (e instanceof SmsApiError && (e.apiCode === 'InvalidParameterException' || e.apiCode === 'ReplicationJobNotFoundException')) return undefined;
      throw e;
    }
  }

  async getReplicationRuns(replicationJobId: string): Promise<{ job: ReplicationJobInfo; runs: ReplicationRunInfo[] }> {
    const runs: ReplicationRunInfo[] = [];
    let job: ReplicationJobInfo | undefined;
    await this.paginate('GetReplicationRuns', async (maxResults, nextToken) => {
      const out = await this.send('GetReplicationRuns', () =>
        this.client.send(new GetReplicationRunsCommand({ replicationJobId, maxResults, nextToken })),
      );
      if (!out.replicationJob) throw malformed('GetReplicationRuns', 'replicationJob is missing');
      job = toJob(out.replicationJob);
      for (const r of out.replicationRunList ?? []) runs.push(toRun(r));
      return out.nextToken;
    });
    if (!job) throw malformed('GetReplicationRuns', 'replicationJob is missing');
    return { job, runs };
  }

  async getConnectors(): Promise<ConnectorInfo[]> {
    const out: ConnectorInfo[] = [];
    await this.paginate('GetConnectors', async (maxResults, nextToken) => {
      const page = await this.send('GetConnectors', () => this.client.send(new GetConnectorsCommand({ maxResults, nextToken })));
      for (const c of page.connectorList ?? []) out.push(toConnector(c));
      return page.nextToken;
    });
    return out;
  }

  async createReplicationJob(input: CreateJobInput): Promise<string> {
    const out = await this.send('CreateReplicationJob', () =>
      this.client.send(new CreateReplicationJobCommand({ ...input, seedReplicationTime: new Date(input.seedReplicationTime * 1000) })),
    );
    if (!out.replicationJobId) throw malformed('CreateReplicationJob', 'replicationJobId is missing');
    return out.replicationJobId;
  }

  async updateReplicationJob(input: UpdateJobInput): Promise<void> {
    const { nextReplicationRunStartTime, ...rest } = input;
    await this.send('UpdateReplicationJob', () =>
      this.client.send(
        new UpdateReplicationJobCommand({
          ...rest,
          nextReplicationRunStartTime: nextReplicationRunStartTime === undefined ? undefined : new Date(nextReplicationRunStartTime * 1000),
        }),
      ),
    );
  }

  async deleteReplicationJob(replicationJobId: string): Promise<void> {
    await this.send('DeleteReplicationJob', () => this.client.send(new DeleteReplicationJobCommand({ replicationJobId })));
  }

  async startOnDemandReplicationRun(replicationJobId: string, description?: string): Promise<string> {
    const out = await this.send('StartOnDemandReplicationRun', () =>
      this.client.send(new StartOnDemandReplicationRunCommand({ replicationJobId, description })),
    );
    if (!out.replicationRunId) throw malformed('StartOnDemandReplicationRun', 'replicationRunId is missing');
    return out.replicationRunId;
  }

  async importServerCatalog(): Promise<void> {
    await this.send('ImportServerCatalog', () => this.client.send(new ImportServerCatalogCommand({})));
  }

  async deleteServerCatalog(): Promise<void> {
    await this.send('DeleteServerCatalog', () => this.client.send(new DeleteServerCatalogCommand({})));
  }

  async disassociateConnector(connectorId: string): Promise<void> {
    await this.send('DisassociateConnector', () => this.client.send(new DisassociateConnectorCommand({ connectorId })));
  }

  /** Calls `page` until it returns no token, at the largest accepted page size. */
  private async paginate(action: SmsAction, page: (maxResults: number, token: string | undefined) => Promise<string | undefined>): Promise<void> {
    let token: string | undefined;
    let first = true;
    for (;;) {
      const size = PAGE_SIZES[this.pageSizeIndex] ?? 50;
      try {
        token = await page(size, token);
      } catch (e) {
        // A target that refuses our page size: step down once, on the first page only.
        if (first && e instanceof SmsApiError && e.apiCode === 'InvalidParameterException' && /maxResults/i.test(e.message) && this.pageSizeIndex < PAGE_SIZES.length - 1) {
          this.pageSizeIndex += 1;
          continue;
        }
        throw e;
      }
      first = false;
      if (!token) return;
    }
  }

  private send<T>(action: SmsAction, call: () => Promise<T>): Promise<T> {
    return withRetries(
      async () => {
        this.counts[action] += 1;
        try {
          return await call();
        } catch (e) {
          throw this.mapError(action, e);
        }
      },
      this.policy,
      this.timing,
      this.limiter,
      this.stats,
    );
  }

  private mapError(action: SmsAction, e: unknown): SmsApiError {
    if (e instanceof SmsApiError) return e;
    const err = e as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; $response?: unknown };
    const status = err.$metadata?.httpStatusCode;
    const code = err.code ?? err.name ?? 'Error';
    // The SDK's credential chain found nothing: said as such (it used to read as a malformed response).
    if (err.name === 'CredentialsProviderError') {
      return new SmsApiError(action, 'credentials-missing', `no AWS credentials for ${this.endpointLabel} (${err.message ?? code})`, {
        cause: e,
        retryable: false,
        hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for this endpoint, or use --endpoint-url embedded',
      });
    }
    if (UNREACHABLE.has(code) || UNREACHABLE.has(err.name ?? '')) {
      return new SmsApiError(action, 'endpoint-unreachable', `cannot reach ${this.endpointLabel} (${code})`, {
        cause: e,
        retryable: false,
        hint: 'check --endpoint-url and that the service is running; use --endpoint-url embedded for the built-in server',
      });
    }
    if (TRANSIENT.has(code) || TRANSIENT.has(err.name ?? '')) {
      return new SmsApiError(action, 'network-error', `${err.message ?? code}`, { cause: e, retryable: true });
    }
    if (err.$fault !== undefined && status !== undefined) {
      const hint = AUTH_CODES.has(code) ? 'check the AWS credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and --region for this endpoint' : undefined;
      return new SmsApiError(action, code, err.message ?? code, { httpStatus: status, cause: e, hint });
    }
    return new SmsApiError(action, 'malformed-response', `the endpoint answered something that is not an SMS response (${err.message ?? code})`, {
      httpStatus: status,
      cause: e,
      retryable: false,
      hint: `check that ${this.endpointLabel} is an SMS endpoint`,
    });
  }
}

const AUTH_CODES = new Set([
  'InvalidClientTokenId', 'SignatureDoesNotMatch', 'MissingAuthenticationToken', 'IncompleteSignature', 'UnrecognizedClientException',
  'RequestExpired', 'UnauthorizedOperationException', 'AccessDeniedException', 'ExpiredTokenException',
]);

function malformed(action: SmsAction, what: string): SmsApiError {
  return new SmsApiError(action, 'malformed-response', `the response is malformed: ${what}`, { retryable: false });
}

function seconds(d: Date | undefined): number | undefined {
  return d === undefined ? undefined : d.getTime() / 1000;
}

function toVmServer(v: SdkVmServer | undefined): VmServer {
  return {
    vmManagerName: v?.vmManagerName,
    vmManagerType: v?.vmManagerType as VmServer['vmManagerType'],
    vmName: v?.vmName,
    vmPath: v?.vmPath,
    vmServerAddress: { vmManagerId: v?.vmServerAddress?.vmManagerId, vmId: v?.vmServerAddress?.vmId },
  };
}

function toServer(s: Server): ServerInfo {
  if (!s.serverId) throw malformed('GetServers', 'a server has no serverId');
  return { serverId: s.serverId, vmServer: toVmServer(s.vmServer), replicationJobId: s.replicationJobId, replicationJobTerminated: s.replicationJobTerminated };
}

function toRun(r: ReplicationRun): ReplicationRunInfo {
  if (!r.replicationRunId) throw malformed('GetReplicationRuns', 'a run has no replicationRunId');
  return {
    replicationRunId: r.replicationRunId,
    state: r.state as ReplicationRunInfo['state'],
    type: r.type as ReplicationRunInfo['type'],
    stageDetails: r.stageDetails ? { stage: r.stageDetails.stage, stageProgress: r.stageDetails.stageProgress } : undefined,
    statusMessage: r.statusMessage,
    amiId: r.amiId,
    scheduledStartTime: seconds(r.scheduledStartTime),
    completedTime: seconds(r.completedTime),
    description: r.description,
  };
}

function toJob(j: ReplicationJob): ReplicationJobInfo {
  if (!j.replicationJobId || !j.serverId) throw malformed('GetReplicationJobs', 'a job has no replicationJobId or serverId');
  return {
    replicationJobId: j.replicationJobId,
    serverId: j.serverId,
    state: j.state as ReplicationJobInfo['state'],
    statusMessage: j.statusMessage,
    vmServer: j.vmServer ? toVmServer(j.vmServer) : undefined,
    frequency: j.frequency,
    runOnce: j.runOnce,
    seedReplicationTime: seconds(j.seedReplicationTime),
    nextReplicationRunStartTime: seconds(j.nextReplicationRunStartTime),
    licenseType: j.licenseType as ReplicationJobInfo['licenseType'],
    roleName: j.roleName,
    description: j.description,
    numberOfRecentAmisToKeep: j.numberOfRecentAmisToKeep,
    encrypted: j.encrypted,
    kmsKeyId: j.kmsKeyId,
    latestAmiId: j.latestAmiId,
    replicationRunList: (j.replicationRunList ?? []).map(toRun),
  };
}

function toConnector(c: Connector): ConnectorInfo {
  if (!c.connectorId) throw malformed('GetConnectors', 'a connector has no connectorId');
  return {
    connectorId: c.connectorId,
    status: c.status as ConnectorInfo['status'],
    capabilityList: c.capabilityList as ConnectorInfo['capabilityList'],
    vmManagerId: c.vmManagerId,
    vmManagerName: c.vmManagerName,
    vmManagerType: c.vmManagerType as ConnectorInfo['vmManagerType'],
    version: c.version,
    ipAddress: c.ipAddress,
    macAddress: c.macAddress,
    associatedOn: seconds(c.associatedOn),
  };
}
