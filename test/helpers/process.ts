// One way the tests watch a child process: its output so far, its exit, waiting for a line, killing it.
import type { ChildProcess } from 'node:child_process';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Finished extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

export interface Proc {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Waits for the exit, failing after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Finished>;
  /** Resolves with the match once stdout matches (fails if the process exits first, or after the timeout). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with stdout once the predicate holds on it. */
  waitForStdout(pattern: (out: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends a signal (to its process group when it has one of its own) if it still runs. */
  kill(signal?: NodeJS.Signals): void;
}

export interface TrackOptions {
  /** The process leads its own group (spawned `detached`): a kill reaches its children too. */
  readonly group?: boolean;
  /** Default timeout of waitForExit. */
  readonly exitTimeoutMs?: number;
  /** Where the caller keeps its running processes (removed on exit), to kill them in afterAll. */
  readonly registry?: Set<Proc>;
}

export function trackProcess(proc: ChildProcess, what: string, opts: TrackOptions = {}): Proc {
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const l of [...listeners]) l();
  });
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<Exit>((resolve) => {
    proc.once('error', () => resolve({ code: null, signal: null }));
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const report = () => `\nstdout: ${out}\nstderr: ${err}`;

  function waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  function waitForStdout(pattern: (out: string) => boolean, timeoutMs?: number): Promise<string>;
  function waitForStdout(pattern: RegExp | ((out: string) => boolean), timeoutMs = 60_000): Promise<RegExpExecArray | string> {
    const test = (): RegExpExecArray | string | undefined =>
      typeof pattern === 'function' ? (pattern(out) ? out : undefined) : (pattern.exec(out) ?? undefined);
    return withTimeout(
      new Promise<RegExpExecArray | string>((resolve, reject) => {
        const check = () => {
          const m = test();
          if (m !== undefined) {
            listeners.delete(check);
            resolve(m);
          }
        };
        listeners.add(check);
        check();
        void exited.then((e) => {
          listeners.delete(check);
          const m = test();
          if (m !== undefined) resolve(m);
          else reject(new Error(`${what} exited (${e.code ?? e.signal}) before its output matched ${String(pattern)}${report()}`));
        });
      }),
      timeoutMs,
      () => `${what}: its output did not match ${String(pattern)} within ${timeoutMs} ms${report()}`,
    );
  }

  const handle: Proc = {
    proc,
    pid: proc.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForExit: async (timeoutMs = opts.exitTimeoutMs ?? 60_000) => {
      const exit = await withTimeout(exited, timeoutMs, () => `${what} did not exit within ${timeoutMs} ms${report()}`);
      return { ...exit, stdout: out, stderr: err };
    },
    waitForStdout,
    kill: (signal = 'SIGTERM') => {
      const pid = proc.pid;
      if (opts.group && pid !== undefined) {
        try {
          process.kill(-pid, signal); // the group: the process and its children
          return;
        } catch {
          // No such group any more: fall through to the process itself.
        }
      }
      if (alive()) proc.kill(signal);
    },
  };
  opts.registry?.add(handle);
  void exited.then(() => opts.registry?.delete(handle));
  return handle;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
