/**
 * The README's shell blocks, run as a reader runs them: one after another in one terminal, in a
 * copy of the repository (test/helpers/repo-copy.ts). A `BlockShell` keeps what a terminal keeps
 * between blocks (the working directory and exported variables); each block runs with `set -e`.
 *
 * What a block may say in the README source, in an HTML comment on the line before it:
 *   <!-- readme-test: skip (REASON) -->                  not run; the test says why
 *   <!-- readme-test: background-first-line (REASON) --> its first command runs in a "second
 *       terminal" (in the background, until the block ends): a server in the foreground.
 * Lines that are never run (they belong to a fresh machine or to the benchmarks): the one ending in
 * `# main job`, the one ending in `# tests`, `npm ci`, and any `bench/` command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finished, RepoCopy } from './repo-copy.ts';

export interface ShBlock {
  /** 1-based, in README order. */
  readonly index: number;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The `##` section the block is in. */
  readonly section: string;
  readonly directive?: { readonly kind: 'skip' | 'background-first-line'; readonly reason: string };
  /** The lines inside the fence. */
  readonly lines: readonly string[];
}

const DIRECTIVE = /^<!--\s*readme-test:\s*(skip|background-first-line)\s*(?:\((.*)\))?\s*-->$/;

/** Every ```sh block of a Markdown text. */
export function shBlocks(markdown: string): ShBlock[] {
  const lines = markdown.split('\n');
  const out: ShBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (l.startsWith('## ')) section = l.slice(3).trim();
    if (l !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`README line ${i + 1}: a \`\`\`sh block is not closed`);
    let prev = i - 1;
    while (prev >= 0 && (lines[prev] ?? '').trim() === '') prev--;
    const m = DIRECTIVE.exec((lines[prev] ?? '').trim());
    out.push({
      index: out.length + 1,
      line: i + 1,
      section,
      ...(m ? { directive: { kind: m[1] as 'skip' | 'background-first-line', reason: m[2] ?? '' } } : {}),
      lines: lines.slice(i + 1, end),
    });
    i = end;
  }
  return out;
}

/** A fresh machine's lines and the benchmarks: never run by the README test. */
export function isFreshMachineLine(line: string): boolean {
  const t = line.trim();
  return /#\s*main job$/.test(t) || /#\s*tests$/.test(t) || /^npm ci(\s|$)/.test(t) || /(^|\s)bench\//.test(t);
}

/** The block's script without the lines that are never run (see isFreshMachineLine). */
export function runnableScript(block: ShBlock): string {
  return block.lines.filter((l) => !isFreshMachineLine(l)).join('\n');
}

/** Whether a script has anything to run (not only comments and blank lines). */
export function hasCommands(script: string): boolean {
  return script.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/**
 * An AWS CLI that still has its `sms` commands: the one on PATH, else Debian's (/usr/bin/aws, which
 * .ci/run installs) when PATH finds a newer release first. Undefined when there is none.
 */
export function awsWithSms(): string | undefined {
  const onPath = spawnSync('bash', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
  for (const aws of [onPath, '/usr/bin/aws']) {
    if (aws === '' || !existsSync(aws)) continue;
    if (spawnSync(aws, ['sms', 'get-connectors', '--generate-cli-skeleton'], { stdio: 'ignore', timeout: 30_000 }).status === 0) return aws;
  }
  return undefined;
}

/** Outside tools a script needs. */
export function toolsNeeded(script: string): { name: string; kind: 'aws-sms' }[] {
  return /(^|[\s;&|(])aws sms /m.test(script) ? [{ name: 'an AWS CLI with its sms commands (Debian awscli 2.9.19 has them; .ci/run installs it)', kind: 'aws-sms' }] : [];
}

const NOT_CARRIED = /^declare -[a-zA-Z-]*x (PWD|OLDPWD|SHLVL|PATH|_)=/;

/** A terminal for the blocks: the working directory and exported variables carry from one block to the next. */
export class BlockShell {
  private readonly dir = mkdtempSync(join(tmpdir(), 'smsr-readme-shell-'));
  private readonly cwdFile = join(this.dir, 'cwd');
  private readonly envFile = join(this.dir, 'env');

  /** PATH for the blocks: `aws` is one with `sms` (awsWithSms), when there is one. */
  private readonly path: string;

  constructor(
    private readonly copy: RepoCopy,
    options: { readonly directNpx?: boolean } = {},
  ) {
    writeFileSync(this.cwdFile, copy.dir);
    writeFileSync(this.envFile, '');
    const aws = awsWithSms();
    const bin = join(this.dir, 'bin');
    mkdirSync(bin);
    if (aws !== undefined) symlinkSync(aws, join(bin, 'aws'));
    if (options.directNpx === true) {
      // `npx sms-reconcile ...` straight to the copy's bin (what npx resolves to), without npm's start-up.
      const npx = spawnSync('bash', ['-c', 'command -v npx'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(
        join(bin, 'npx'),
        `#!/usr/bin/env bash\nif [ "$1" = sms-reconcile ]; then shift; exec "${process.execPath}" "${copy.bin}" "$@"; fi\nexec "${npx}" "$@"\n`,
        { mode: 0o755 },
      );
    }
    this.path = `${bin}:${process.env['PATH'] ?? ''}`;
  }

  /** The prologue a block runs after: the last block's directory and exports, then `set -e`. */
  private prologue(): string {
    const env = readFileSync(this.envFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !NOT_CARRIED.test(l))
      .join('\n');
    return `cd "$(cat '${this.cwdFile}')"\n${env}\nset -e\n`;
  }

  /** Runs a script as the next block; afterwards its directory and exports carry on. */
  async run(script: string, timeoutMs = 90_000): Promise<Finished> {
    const full = `${this.prologue()}${script}\nset +e\npwd > '${this.cwdFile}'\nexport -p > '${this.envFile}'\n`;
    return this.copy.sh(full, { timeoutMs, env: { PATH: this.path } });
  }

  /** Starts a command in the background, where the next block would run it (another terminal). */
  background(command: string): ReturnType<RepoCopy['spawn']> {
    return this.copy.spawn('bash', ['-c', `${this.prologue()}exec ${command.replace(/\s+#.*$/, '')}`], { env: { PATH: this.path } });
  }
}
