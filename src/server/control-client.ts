import { request } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential } from './auth.ts';
import type { FaultSpec } from './faults.ts';
import type { ServerInfo } from './app.ts';
import { CONTROL_PREFIX } from './protocol.ts';

/**
 * A client for the embedded server's control endpoint (manual clock, faults, reset), signed with
 * SigV4 like any request. For tests, benchmarks and demos; the endpoint is off unless the server
 * runs with `--clock manual` or `--control`.
 */
export class ControlClient {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(endpoint: string, region: string, credentials: Credential) {
    this.url = new URL(endpoint);
    this.signer = new SignatureV4({ service: 'sms', region, credentials, sha256: Hash.bind(null, 'sha256') });
  }

  info(): Promise<ServerInfo & { region: string; faults: FaultSpec }> {
    return this.call('GetInfo', {}) as Promise<ServerInfo & { region: string; faults: FaultSpec }>;
  }
  async advanceClock(seconds: number): Promise<number> {
    return ((await this.call('AdvanceClock', { seconds })) as { now: number }).now;
  }
  async setFaults(faults: FaultSpec): Promise<void> {
    await this.call('SetFaults', { faults });
  }
  async setConnectorStatus(connectorId: string, status: 'HEALTHY' | 'UNHEALTHY'): Promise<void> {
    await this.call('SetConnectorStatus', { connectorId, status });
  }
  async addCredentials(c: Credential): Promise<void> {
    await this.call('AddCredentials', { ...c });
  }
  async reset(): Promise<void> {
    await this.call('Reset', {});
  }

  async call(op: string, input: Record<string, unknown>): Promise<unknown> {
    const body = JSON.stringify(input);
    const signed = await this.signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: Number(this.url.port),
        path: '/',
        headers: {
          host: this.url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': CONTROL_PREFIX + op,
        },
        body,
      }),
    );
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port, method: 'POST', path: '/', headers: signed.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            if (res.statusCode === 200) resolve(parsed);
            else reject(new Error(`control ${op} failed: ${String(parsed['__type'])}: ${String(parsed['message'])}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
