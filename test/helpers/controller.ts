/**
 * `sms-reconcile controller` as a subprocess of a test workspace: started on a free port with a
 * short interval, reached over HTTP, and waited on by polling /status (never by sleeping a fixed
 * time).
 */
import { spawnCli, type Proc, type Workspace } from './apply-cli.ts';
import { freePort } from './pg.ts';

export interface ControllerStatus {
  readonly leader: boolean;
  readonly holder: string | null;
  readonly identity: string;
  readonly mode: string;
  readonly revision: string | null;
  readonly source: { kind: 'files' | 'git'; revision?: string; lastFetchError?: string };
  readonly running: boolean;
  readonly lastCycle: { result: string; startedAt: string; durationMs: number; changes: { planned: number; applied: number; pending: number }; errors: { code: string; message: string; detail?: string }[] } | null;
  readonly nextCycleAt: string | null;
  readonly consecutiveFailures: number;
  readonly drift: { address: string; field: string }[];
  readonly driftOpen: number;
  readonly pending: { address: string; action: string; why: string }[];
  readonly jobs: { address: string; state: string }[];
}

export interface RunningController {
  readonly proc: Proc;
  readonly url: string;
  get(path: string): Promise<{ status: number; text: string }>;
  status(): Promise<ControllerStatus>;
  /** Polls /status until `check` holds (fails after `timeoutMs`, showing the last status and the log). */
  waitForStatus(check: (s: ControllerStatus) => boolean, timeoutMs?: number): Promise<ControllerStatus>;
}

/**
 * Starts `controller -f <manifests> --listen 127.0.0.1:<free port>` with `extra` flags in the
 * workspace (its state file, or `opts.state`), and waits until /status answers.
 */
export async function startController(ws: Workspace, manifests: string, extra: readonly string[] = [], opts: { state?: string; endpointUrl?: string } = {}): Promise<RunningController> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['controller', '-f', manifests, '--listen', `127.0.0.1:${port}`, '--interval', '1s', '--retry-interval', '500ms', '--lease-ttl', '3s', ...extra];
  const proc =
    opts.state === undefined ? ws.spawn(args, { endpointUrl: opts.endpointUrl }) : spawnCli([...args, '--endpoint-url', opts.endpointUrl ?? ws.endpoint.url, '--state', opts.state], { cwd: ws.dir, env: ws.env });
  const get = async (path: string) => {
    const r = await fetch(`${url}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const status = async () => JSON.parse((await get('/status')).text) as ControllerStatus;
  const c: RunningController = {
    proc,
    url,
    get,
    status,
    waitForStatus: async (check, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: ControllerStatus | undefined;
      for (;;) {
        if (proc.proc.exitCode !== null) throw new Error(`the controller exited (${proc.proc.exitCode})\nstderr: ${proc.stderr()}`);
        try {
          last = await status();
          if (check(last)) return last;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`status condition not met in ${timeoutMs} ms; last status: ${JSON.stringify(last)}\nstderr: ${proc.stderr().slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  await c.waitForStatus(() => true, 60_000);
  return c;
}

/** The log lines (JSON) the controller wrote with the given event. */
export function logEvents(stderr: string, event: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['event'] === event);
}
