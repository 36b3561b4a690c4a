/**
 * The CLI's host: the one place that writes to stdout and stderr. Real streams (in memory), a real
 * pino logger, the executor's real message mapping: what a terminal and a script see.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliIoHost, errorMessage, OUTPUT_BACKLOG_BYTES } from '../../src/cli/io-host.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { EVENT_CODES } from '../../src/model/codes.ts';
import { userError } from '../../src/model/errors.ts';
import { ioMessage, output } from '../../src/model/messages.ts';
import { applyMessage } from '../../src/reconcile/apply-messages.ts';
import type { Change } from '../../src/reconcile/change.ts';
import { createLogger } from '../../src/report/logger.ts';
import { renderMessagesDoc } from '../../src/report/render-messages.ts';

function stream(tty = false): PassThrough & { isTTY?: boolean; text: () => string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  let text = '';
  s.on('data', (chunk: Buffer) => (text += chunk.toString()));
  s.text = () => text;
  if (tty) s.isTTY = true;
  return s;
}

function host(opts: { level?: string; format?: 'json' | 'pretty'; tty?: boolean } = {}) {
  const stdout = stream(opts.tty);
  const stderr = stream();
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: '/' };
  const h = new CliIoHost(io, () => ({ level: opts.level ?? 'warn', format: opts.format ?? 'json', color: false }), createLogger);
  return { h, stdout, stderr };
}

const create: Change = {
  action: 'create',
  address: 'ReplicationJob/web-01',
  kind: 'ReplicationJob',
  serverId: 's-1a2b3c4d',
  serverName: 'web-01',
  after: { frequency: 12 },
  fields: [],
  preventDestroy: false,
  reason: 'new job',
};

describe('CliIoHost', () => {
  it('writes an output as its text to the stream its registry entry names, whatever the log level', () => {
    const { h, stdout, stderr } = host({ level: 'silent' });
    h.notify(output('plan.rendered', 'Plan: 1 to create.\n'));
    h.notify(output('manifest.diagnostics', 'a.yaml:1:1: error SMSR-M001: x\n', 'error'));
    h.notify(errorMessage(userError('bad-flag', '--x is wrong', 'try --y')));
    expect(stdout.text()).toBe('Plan: 1 to create.\n');
    expect(stderr.text()).toBe('a.yaml:1:1: error SMSR-M001: x\nError [bad-flag]: --x is wrong\n  hint: try --y\n');
  });

  it('logs an event as one JSON line with the documented envelope, at its level, and only from --log-level up', () => {
    const { h, stdout, stderr } = host({ level: 'info' });
    h.notify(ioMessage('controller.cycle', 'warn', 'cycle failed', { result: 'failed', errors: 1 }));
    h.notify(ioMessage('controller.trigger', 'debug', 'cycle triggered', { reason: 'timer' }));
    const lines = stderr.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ level: 40, time: expect.any(Number), event: 'controller.cycle', result: 'failed', errors: 1, msg: 'cycle failed' }]);
    expect(stdout.text()).toBe('');
    // Every field of a record is one the doc names (the envelope, then data).
    const doc = renderMessagesDoc();
    for (const field of ['level', 'time', 'event', 'msg']) expect(doc).toContain(`| \`${field}\` |`);
    expect(Object.keys(EVENT_CODES)).toContain(lines[0]!['event']);
  });

  it("shows the executor's messages as the apply's lines on stdout and logs them with their registered codes", () => {
    const { h, stdout, stderr } = host({ level: 'debug' });
    const error = new Error('CreateReplicationJob failed: ServerCannotBeReplicatedException: too many volumes');
    const failure = { address: create.address, action: 'create' as const, operation: 'CreateReplicationJob', vmName: 'web-01', serverId: 's-1a2b3c4d', code: 'ServerCannotBeReplicatedException', message: 'too many volumes', outcome: 'refused' as const, onRerun: 'retry' as const };
    h.notify(applyMessage({ type: 'start', change: create, operation: 'CreateReplicationJob' }, 1000));
    h.notify(applyMessage({ type: 'done', change: create, operation: 'CreateReplicationJob', replicationJobId: 'sms-job-12345678', ms: 1234 }, 2000));
    h.notify(applyMessage({ type: 'failed', change: create, operation: 'CreateReplicationJob', error, failure }, 3000));
    expect(stdout.text()).toBe(
      '+ ReplicationJob/web-01: CreateReplicationJob...\n' +
        '+ ReplicationJob/web-01: created (sms-job-12345678) [1.2s]\n' +
        '! ReplicationJob/web-01: CreateReplicationJob failed: ServerCannotBeReplicatedException: too many volumes\n',
    );
    const records = stderr.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r['event'], r['level']])).toEqual([['apply.start', 20], ['apply.done', 30], ['apply.failed', 50]]);
    expect(records[2]).toMatchObject({ ...failure, error: error.message, msg: `ReplicationJob/web-01: ${error.message}` });
  });

  it('redraws progress in place on a terminal, and prints job events instead into a pipe', () => {
    const jobs = [{ address: 'ReplicationJob/web-01', replicationJobId: 'sms-job-12345678', jobState: 'ACTIVE', runState: 'ACTIVE', settled: false }];
    const tty = host({ tty: true });
    tty.h.notify(ioMessage('status.progress', 'info', '1 job(s)', { jobs, header: 'target - now' }));
    tty.h.notify(ioMessage('status.progress', 'info', '1 job(s)', { jobs, header: 'target - later' }));
    const [first, second] = tty.stdout.text().split('\u001b[3A\u001b[J');
    expect(first).toMatch(/^target - now\nADDRESS .*\nReplicationJob\/web-01 .*\n$/);
    expect(second).toMatch(/^target - later\nADDRESS .*\nReplicationJob\/web-01 .*\n$/);
    const pipe = host();
    pipe.h.notify(ioMessage('status.progress', 'info', '1 job(s)', { jobs, header: 'target - now' }));
    expect(pipe.stdout.text()).not.toContain('target - now');
    expect(pipe.stdout.text()).not.toContain('\u001b[');
    expect(pipe.stdout.text()).toContain('ReplicationJob/web-01');
  });
});

describe('CliIoHost.outputFlowing (between the pieces of a long output)', () => {
  /** A stdout whose reader takes a chunk only when told to (`take`): a slow pipe. */
  function slowSink() {
    const waiting: (() => void)[] = [];
    let taken = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        waiting.push(() => {
          taken += chunk.length;
          cb();
        });
      },
    });
    const take = (): void => {
      while (waiting.length > 0) waiting.shift()?.();
    };
    const io: CliIo = { stdout: sink, stderr: new PassThrough(), stdin: new PassThrough(), env: {}, cwd: '/' };
    const h = new CliIoHost(io, () => ({ level: 'warn', format: 'json', color: false }), createLogger);
    return { h, sink, take, taken: () => taken };
  }
  const settled = async (p: Promise<void>): Promise<boolean> => {
    let done = false;
    void p.then(() => (done = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return done;
  };

  it('returns at once when stdout holds nothing, after a turn when it holds less than the bound', async () => {
    const { h, take } = slowSink();
    await h.outputFlowing();
    h.notify(output('plan.rendered', 'x'.repeat(1 << 20)));
    expect(await settled(h.outputFlowing())).toBe(true);
    take();
  });

  it('waits for the reader once stdout holds more than OUTPUT_BACKLOG_BYTES, and goes on when it has drained', async () => {
    const { h, sink, take, taken } = slowSink();
    const piece = 'x'.repeat(1 << 20);
    for (let i = 0; i <= OUTPUT_BACKLOG_BYTES / piece.length; i++) h.notify(output('plan.rendered', piece));
    expect(sink.writableLength).toBeGreaterThan(OUTPUT_BACKLOG_BYTES);
    const waiting = h.outputFlowing();
    expect(await settled(waiting)).toBe(false);
    for (let i = 0; i < 20 && sink.writableLength > 0; i++) {
      take();
      await new Promise((r) => setImmediate(r));
    }
    expect(await settled(waiting)).toBe(true);
    expect(taken()).toBe(OUTPUT_BACKLOG_BYTES + piece.length);
  });

  it('does not wait for a reader that has gone: the stream destroyed ends the wait', async () => {
    const { h, sink } = slowSink();
    sink.on('error', () => undefined);
    for (let i = 0; i <= OUTPUT_BACKLOG_BYTES >> 20; i++) h.notify(output('plan.rendered', 'x'.repeat(1 << 20)));
    const waiting = h.outputFlowing();
    expect(await settled(waiting)).toBe(false);
    sink.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await settled(waiting)).toBe(true);
    // And later pieces do not wait either.
    expect(await settled(h.outputFlowing())).toBe(true);
  });
});

