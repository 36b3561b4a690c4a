/**
 * A real terminal for the TTY tests: a detached tmux session (its own server socket, so nothing is
 * shared with a developer's tmux) running bash (no profile, an rc file that only sets the prompt
 * `$ `). Commands
 * are typed into it; `capture()` reads the screen as a person sees it (escape sequences already
 * interpreted by tmux), `capture({ history: true })` the whole scrollback too.
 *
 * tmux is a Debian package (`apt-get install tmux`). Without it, `describeTmux` skips its tests
 * with a visible message; under CI (CI set) it fails instead, as the pg helper does.
 *
 * Every session started here is tracked: `killAllTmux()` (afterEach/afterAll) kills each server.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { inCi } from './pg.ts';

const run = promisify(execFile);

/** The tmux binary, if installed. */
export function tmuxPath(): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

const HINT = 'install tmux (Debian: apt-get install tmux) to run them';

/** A describe() for tests that need tmux: skipped with a message without it, failing under CI. */
export function describeTmux(name: string, body: () => void): void {
  if (tmuxPath()) {
    describe(name, { timeout: 120_000 }, body);
    return;
  }
  if (inCi()) {
    describe(name, () => {
      it('needs tmux', () => {
        throw new Error(`CI is set but tmux is not installed: the terminal recordings must run in CI; ${HINT}`);
      });
    });
    return;
  }
  console.warn(`[tty tests] "${name}" skipped: no tmux; ${HINT}`);
  describe.skip(`${name} [skipped: no tmux; ${HINT}]`, () => {
    it('needs tmux', () => undefined);
  });
}

export interface TmuxOptions {
  readonly cols: number;
  readonly rows: number;
  readonly cwd: string;
  /** The environment of the tmux server, hence of the shell (PS1 and HISTFILE are set here). */
  readonly env: NodeJS.ProcessEnv;
}

export interface TmuxSession {
  readonly socket: string;
  /** Types a line and presses Enter. */
  type(line: string): Promise<void>;
  /** Sends keys as tmux names them (e.g. 'C-c'). */
  keys(...keys: string[]): Promise<void>;
  /** The screen (or, with history, the scrollback and the screen), trailing blank lines removed. */
  capture(opts?: { history?: boolean }): Promise<string>;
  /** Polls the screen until `done` holds for it; fails after the timeout with the last screen. */
  waitFor(done: (screen: string) => boolean, what: string, timeoutMs?: number, onScreen?: (screen: string) => void): Promise<string>;
  kill(): Promise<void>;
}

const sessions = new Set<TmuxSession>();

export async function startTmux(opts: TmuxOptions): Promise<TmuxSession> {
  const tmux = tmuxPath();
  if (!tmux) throw new Error(`tmux is not installed; ${HINT}`);
  const socket = `smsr-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...opts.env, HISTFILE: '/dev/null' };
  delete env['TMUX'];
  delete env['TMUX_PANE'];
  delete env['PROMPT_COMMAND'];
  // bash sets its own PS1 (root: '#'); the prompt comes from an rc file of our own.
  const rc = join(tmpdir(), `${socket}.bashrc`);
  writeFileSync(rc, "PS1='$ '\nunset PROMPT_COMMAND\n");
  const t = (...args: string[]) => run(tmux, ['-L', socket, ...args], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  await t('-f', '/dev/null', 'new-session', '-d', '-x', String(opts.cols), '-y', String(opts.rows), '-s', 'main', '-c', opts.cwd, `bash --noprofile --rcfile ${rc}`);
  await t('set-option', '-t', 'main', 'history-limit', '10000');
  // tmux leaves its socket file behind when the server is killed: removed in kill().
  const socketPath = (await t('display-message', '-p', '#{socket_path}')).stdout.trim();
  const capture = async (o: { history?: boolean } = {}) => {
    const { stdout } = await t('capture-pane', '-p', '-t', 'main', ...(o.history ? ['-S', '-', '-E', '-'] : []));
    return stdout.replace(/\s+$/, '');
  };
  const session: TmuxSession = {
    socket,
    type: async (line) => {
      await t('send-keys', '-t', 'main', '-l', line);
      await t('send-keys', '-t', 'main', 'Enter');
    },
    keys: async (...keys) => {
      await t('send-keys', '-t', 'main', ...keys);
    },
    capture,
    waitFor: async (done, what, timeoutMs = 90_000, onScreen) => {
      const deadline = Date.now() + timeoutMs;
      let screen = '';
      for (;;) {
        screen = await capture();
        onScreen?.(screen);
        if (done(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`tmux: ${what} did not happen within ${timeoutMs} ms; the screen:\n${screen}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: async () => {
      sessions.delete(session);
      await t('kill-server').catch(() => undefined);
      rmSync(rc, { force: true });
      if (socketPath.includes(socket)) rmSync(socketPath, { force: true });
    },
  };
  sessions.add(session);
  // The prompt is up before anything is typed.
  await session.waitFor((s) => s.split('\n').at(-1) === '$', 'the shell prompt', 15_000);
  return session;
}

/** Kills every tmux server started here. */
export async function killAllTmux(): Promise<void> {
  await Promise.all([...sessions].map((s) => s.kill()));
}

/**
 * A screen made comparable across runs: ids, AMIs, times and durations replaced by placeholders of
 * the same length (so the table's columns stay aligned), temporary directories by <copy>.
 */
export function normalizeScreen(text: string): string {
  const x = (prefix: string, hex: string) => `${prefix}${'x'.repeat(hex.length)}`;
  return text
    .replace(/\/tmp\/smsr-[\w-]+/g, '<copy>')
    .replace(/\bsms-job-([0-9a-f]+)/g, (_, h: string) => x('sms-job-', h))
    .replace(/\bami-([0-9a-f]+)/g, (_, h: string) => x('ami-', h))
    .replace(/\bs-([0-9a-f]{8,17})\b/g, (_, h: string) => x('s-', h))
    .replace(/\blineage ([0-9a-f]+)…/g, (_, h: string) => `lineage ${'x'.repeat(h.length)}…`)
    .replace(/\bserial \d+/g, 'serial N')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, (_, ms: string | undefined) => `YYYY-MM-DDThh:mm:ss${ms ? `.${'s'.repeat(ms.length - 1)}` : ''}Z`)
    .replace(/×\d+/g, '×N')
    .replace(/\[\d+\.\ds\]/g, '[#.#s]')
    .replace(/ in \d+\.\ds\./g, ' in #.#s.');
}

/** The progress table on a screen: its header cells and rows (cells split on runs of 2+ spaces). */
export interface ScreenTable {
  readonly header: string[];
  readonly rows: string[][];
  /** Index of the header line in the screen's lines. */
  readonly at: number;
  /** The lines after the table. */
  readonly after: string[];
}

export function tableOf(screen: string): ScreenTable | undefined {
  const lines = screen.split('\n');
  const at = lines.findIndex((l) => /^ADDRESS {2,}JOB {2,}STATE/.test(l));
  if (at < 0) return undefined;
  const header = lines[at]!.trim().split(/ {2,}/);
  const rows: string[][] = [];
  let i = at + 1;
  for (; i < lines.length && /^(ReplicationJob|ReplicationJobSet)\//.test(lines[i]!); i++) rows.push(lines[i]!.trim().split(/ {2,}/));
  return { header, rows, at, after: lines.slice(i) };
}

/** Asserts that two screens have the same progress table: header, rows (addresses, cell count), lines after it. */
export function expectSameTable(actual: string, fixture: string, what: string): void {
  const a = tableOf(actual);
  const f = tableOf(fixture);
  expect(a, `${what}: no progress table in\n${actual}`).toBeDefined();
  expect(f, `${what}: no progress table in the fixture`).toBeDefined();
  expect(a!.header, what).toEqual(f!.header);
  expect(a!.rows.map((r) => r[0]), what).toEqual(f!.rows.map((r) => r[0]));
  expect(a!.rows.map((r) => r.length), what).toEqual(f!.rows.map((r) => r.length));
  expect(a!.after, what).toEqual(f!.after);
}

/** Where the terminal recordings live: test/fixtures/tty/NAME.txt (normalized screens). */
export const TTY_FIXTURES = fileURLToPath(new URL('../fixtures/tty/', import.meta.url));

/**
 * The recorded fixture NAME. With UPDATE_TTY_FIXTURES=1 the (normalized) `actual` is written first,
 * so `UPDATE_TTY_FIXTURES=1 npx vitest run test/e2e/tty-` records them anew; without it a missing
 * fixture is an error.
 */
export function ttyFixture(name: string, actual: string): string {
  const file = join(TTY_FIXTURES, `${name}.txt`);
  if (process.env['UPDATE_TTY_FIXTURES'] === '1') {
    mkdirSync(TTY_FIXTURES, { recursive: true });
    writeFileSync(file, `${actual}\n`);
  }
  if (!existsSync(file)) throw new Error(`no terminal recording ${file}: record it with UPDATE_TTY_FIXTURES=1`);
  return readFileSync(file, 'utf8').replace(/\n$/, '');
}
