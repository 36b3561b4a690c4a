/**
 * The git source: the controller's own checkout of --git-url at --git-ref, made and refreshed with
 * the system `git`. Each fetch moves the checkout to the ref's newest commit; a failed fetch leaves
 * the last good revision checked out and is reported.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FetchResult {
  /** The commit checked out now (the last good one when the fetch failed); undefined before any success. */
  readonly revision: string | undefined;
  /** Why the fetch failed, when it did. */
  readonly error?: string;
  /** True when the revision moved. */
  readonly changed: boolean;
}

export interface GitSourceOptions {
  readonly url: string;
  readonly ref: string;
  readonly dir: string;
  /** Kills a hung fetch. Default 2 minutes. */
  readonly timeoutMs?: number;
}

export class GitSource {
  #revision: string | undefined;
  #lastError: string | undefined;
  #lastFetchAt: string | undefined;

  constructor(readonly opts: GitSourceOptions) {}

  get revision(): string | undefined {
    return this.#revision;
  }

  /** What /status shows of the source. */
  describe(): { kind: 'git'; url: string; ref: string; revision: string | undefined; lastFetchAt: string | undefined; lastFetchError: string | undefined } {
    return { kind: 'git', url: redactGitUrl(this.opts.url), ref: this.opts.ref, revision: this.#revision, lastFetchAt: this.#lastFetchAt, lastFetchError: this.#lastError };
  }

  async #git(args: readonly string[]): Promise<string> {
    const { stdout } = await run('git', ['-C', this.opts.dir, ...args], {
      timeout: this.opts.timeoutMs ?? 120_000,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'echo' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  }

  /** Fetches the ref and checks it out. Never throws. */
  async fetch(): Promise<FetchResult> {
    this.#lastFetchAt = new Date().toISOString();
    try {
      if (!existsSync(join(this.opts.dir, '.git'))) {
        await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
        await this.#git(['init', '--quiet']);
      }
      await this.#git(['fetch', '--quiet', '--depth', '1', '--no-tags', this.opts.url, this.opts.ref]);
      await this.#git(['checkout', '--quiet', '--force', '--detach', 'FETCH_HEAD']);
      await this.#git(['clean', '--quiet', '-ffdx']);
      const revision = await this.#git(['rev-parse', 'HEAD']);
      const changed = revision !== this.#revision;
      this.#revision = revision;
      this.#lastError = undefined;
      return { revision, changed };
    } catch (err) {
      const e = err as Error & { stderr?: string };
      this.#lastError = redactGitUrl((e.stderr?.trim() || e.message).split('\n').slice(-3).join(' ')).slice(0, 500);
      return { revision: this.#revision, error: this.#lastError, changed: false };
    }
  }
}

/** A URL without its password or token, for status and logs. */
export function redactGitUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/gi, '$1:***@');
}
