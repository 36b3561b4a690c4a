/**
 * Help and the first errors a user meets:
 * - `--help` on every command and subcommand (found from the help itself) exits 0 and shows
 *   examples, and every option an example uses is an option of the command it runs;
 * - a mistyped command or option exits 1 and suggests the nearest correct one;
 * - `--version` prints package.json's version;
 * - help piped into `head` ends quietly (no EPIPE stack trace).
 *
 * The real binary (`node bin/sms-reconcile.mjs`) runs the cases a user types first; the exhaustive
 * walk over every command's help calls the same `main()` in this process (with its own streams),
 * which is what the binary runs, without paying a process start per command.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { copyEnv, REPO_ROOT } from '../helpers/repo-copy.ts';

const BIN = join(REPO_ROOT, 'bin', 'sms-reconcile.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let cwd: string;

beforeAll(async () => {
  // An empty directory: nothing here may create state or data in the repository.
  cwd = await mkdtemp(join(tmpdir(), 'smsr-help-'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function sh(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, env: copyEnv(cwd), timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The real binary, as a subprocess. */
const cli = (...args: string[]) => sh(process.execPath, [BIN, ...args]);

/** `main()` in this process, with streams of its own (the code the binary runs). */
async function inProcess(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        add(chunk.toString());
        done();
      },
    });
  const code = await main(args, {
    stdout: sink((x) => (stdout += x)),
    stderr: sink((x) => (stderr += x)),
    stdin: Readable.from([]),
    env: copyEnv(cwd),
    cwd,
  });
  return { code, stdout, stderr };
}

/** The lines of a help text's section (`Options:`, `Commands:`), up to the next blank line. */
function section(help: string, title: string): string {
  const block = help.split('\n\n').find((b) => b.startsWith(`${title}\n`));
  return block?.slice(title.length + 1) ?? '';
}

/** The command names of a help text's "Commands:" section. */
function commandsOf(help: string): string[] {
  return section(help, 'Commands:')
    .split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)\b/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'help');
}

/** The long and short flags of a help text's "Options:" section, with whether each takes a value. */
function optionsOf(help: string): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const line of section(help, 'Options:').split('\n')) {
    const m = /^ {2}((?:-[A-Za-z], )?--[a-z][a-z-]*)( [<[][^>\]]+[>\]])?/.exec(line);
    if (!m) continue;
    for (const f of m[1]!.split(', ')) flags.set(f, m[2] !== undefined);
    // commander: --no-x also accepts --x
    if (m[1]!.startsWith('--no-')) flags.set(`--${m[1]!.slice(5)}`, false);
  }
  return flags;
}

/** Splits an example line like a shell would (quotes kept together), as commands of `&&`, `;`, `|`. */
function commandsInExample(line: string): string[][] {
  const words = line.match(/'[^']*'|"[^"]*"|&&|\|\||[|;<>]|[^\s'"|;<>]+/g) ?? [];
  const out: string[][] = [[]];
  for (const w of words) {
    if (w.startsWith('#')) break;
    if (['&&', '||', '|', ';'].includes(w)) out.push([]);
    else out.at(-1)!.push(w.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'));
  }
  // Drop redirections and their targets.
  return out.map((cmd) => cmd.filter((w, i) => !['>', '<'].includes(w) && !['>', '<'].includes(cmd[i - 1] ?? ''))).filter((c) => c[0] === 'sms-reconcile');
}

describe('sms-reconcile --help', { timeout: 120_000 }, () => {
  it('the binary: --help and plan --help exit 0 with the usage and examples', async () => {
    const [top, plan] = await Promise.all([cli('--help'), cli('plan', '--help')]);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout.startsWith('Usage: sms-reconcile [options] [command]\n')).toBe(true);
    expect(top.stdout).toMatch(/^Commands:$/m);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout.startsWith('Usage: sms-reconcile plan [options]\n')).toBe(true);
    expect(plan.stdout).toMatch(/^Examples:\n {2}\$ sms-reconcile plan -f examples\/quickstart$/m);
    // The same text main() prints in process, which the walk below relies on.
    expect((await inProcess('plan', '--help')).stdout).toBe(plan.stdout);
  });

  it('lists the commands; every command and subcommand has a --help with examples that use only its own options', async () => {
    const top = await inProcess('--help');
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout.startsWith('Usage: sms-reconcile [options] [command]\n')).toBe(true);
    const commands = commandsOf(top.stdout);
    expect(commands).toEqual(expect.arrayContaining(['validate', 'plan', 'apply', 'status', 'import', 'export', 'state', 'force-unlock', 'server']));
    const globals = optionsOf(top.stdout);
    expect([...globals.keys()]).toEqual(expect.arrayContaining(['--state', '--endpoint-url', '--region', '--version', '--help']));

    const helps = new Map<string, string>();
    const read = async (path: string[]) => {
      const r = await inProcess(...path, '--help');
      expect(r.code, `${path.join(' ')} --help: ${r.stderr}`).toBe(0);
      expect(r.stderr, path.join(' ')).toBe('');
      expect(r.stdout.startsWith(`Usage: sms-reconcile ${path.join(' ')} `), r.stdout.split('\n')[0]).toBe(true);
      helps.set(path.join(' '), r.stdout);
      return r.stdout;
    };
    await Promise.all(commands.map((c) => read([c])));
    const stateSubs = commandsOf(helps.get('state')!);
    expect(stateSubs).toEqual(expect.arrayContaining(['list', 'show', 'rm', 'pull', 'push']));
    await Promise.all(stateSubs.map((c) => read(['state', c])));

    let checked = 0;
    for (const [path, help] of helps) {
      // "Examples:" (or "Example:" where there is one), then `$ sms-reconcile ...` lines.
      const examples = /^Examples?:\n((?: {2}.*\n?)+)/m.exec(help)?.[1];
      expect(examples, `${path} --help has no examples:\n${help}`).toBeDefined();
      const lines = examples!.split('\n').filter((l) => l.startsWith('  $ '));
      expect(lines.length, `${path}: no example command`).toBeGreaterThan(0);
      expect(lines.some((l) => l.startsWith(`  $ sms-reconcile ${path}`) || l.includes(`sms-reconcile ${path}`)), `${path}: no example runs ${path}`).toBe(true);
      for (const line of lines) {
        for (const words of commandsInExample(line.slice(4))) {
          // Global options may come first; then the command (and the state subcommand).
          let i = 1;
          while (words[i]?.startsWith('-')) {
            expect(globals.has(words[i]!), `${path}: example '${line.trim()}': unknown global option ${words[i]}`).toBe(true);
            i += globals.get(words[i]!) ? 2 : 1;
          }
          let cmd = words[i] ?? '';
          if (cmd === 'state' && stateSubs.includes(words[i + 1] ?? '')) cmd = `state ${words[++i]}`;
          const own = helps.get(cmd);
          expect(own, `${path}: example '${line.trim()}' runs an unknown command '${cmd}'`).toBeDefined();
          const flags = optionsOf(own!);
          for (const w of words.slice(i + 1)) {
            if (!/^--?[A-Za-z]/.test(w)) continue;
            const flag = w.split('=')[0]!;
            checked += 1;
            expect(flags.has(flag) || globals.has(flag), `${path}: example '${line.trim()}' uses ${flag}, which '${cmd}' does not have`).toBe(true);
          }
        }
      }
    }
    // The examples were really read: they use a good number of options between them.
    expect(checked).toBeGreaterThan(20);
  });

  it('help piped into head ends quietly: exit 0, no EPIPE stack trace', async () => {
    const r = await sh('bash', ['-c', `set -o pipefail; '${process.execPath}' '${BIN}' help apply | head -n 1; echo "status \${PIPESTATUS[0]}" >&2`]);
    expect(r.stdout).toBe('Usage: sms-reconcile apply [options] [planfile]\n');
    expect(r.stderr).toBe('status 0\n');
  });
});

describe.concurrent('mistakes', { timeout: 60_000 }, () => {
  it.each([
    [['plna', '-f', 'x'], "error: unknown command 'plna'", '(Did you mean plan?)'],
    [['aply'], "error: unknown command 'aply'", '(Did you mean apply?)'],
    [['plan', '-f', 'examples/quickstart', '--detailed-exitcod'], "error: unknown option '--detailed-exitcod'", '(Did you mean --detailed-exitcode?)'],
    [['apply', '--auto-aprove', '-f', 'x'], "error: unknown option '--auto-aprove'", '(Did you mean --auto-approve?)'],
    [['state', 'lst'], "error: unknown command 'lst'", '(Did you mean list?)'],
    [['--stat', 'x.json', 'plan', '-f', 'x'], "error: unknown option '--stat'", '(Did you mean --state?)'],
  ])('%j exits 1 and suggests the nearest correct one', async (args, error, suggestion) => {
    // The two the issue names go through the binary; the others through main() in process.
    const viaBinary = args[0] === 'plna' || args.includes('--detailed-exitcod');
    const r = viaBinary ? await cli(...args) : await inProcess(...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${error}\n${suggestion}\n(run with --help for usage)\n`);
  });

  it('a missing required option says which, and where to look', async () => {
    const r = await inProcess('plan');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: required option '-f, --filename <path...>' not specified\n(run with --help for usage)\n");
  });
});

describe('--version', () => {
  it("prints package.json's version and exits 0 (also -V)", async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const [long, short] = await Promise.all([cli('--version'), cli('-V')]);
    expect(long).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(short).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});
