import { PassThrough } from 'node:stream';
import type { CliIo } from './io.ts';
import { main } from './main.ts';

/** The commands the CLI reference documents, in order; each gets its `--help` output. */
export const DOCUMENTED_COMMANDS = [
  [], ['validate'], ['plan'], ['apply'], ['status'], ['import'], ['export'],
  ['state'], ['state', 'list'], ['state', 'show'], ['state', 'rm'], ['state', 'pull'], ['state', 'push'], ['state', 'migrate'],
  ['force-unlock'], ['server'], ['controller'],
] as const;

async function helpText(args: readonly string[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const io: CliIo = { stdout: out, stderr: out, stdin: new PassThrough(), env: {}, cwd: '/' };
  await main([...args, '--help'], io);
  return Buffer.concat(chunks).toString('utf8').trimEnd();
}

/** The README's CLI reference: every command's `--help`, verbatim. A test keeps the README equal to it. */
export async function renderCliReference(): Promise<string> {
  const parts: string[] = [];
  for (const args of DOCUMENTED_COMMANDS) {
    const title = args.length === 0 ? 'sms-reconcile' : `sms-reconcile ${args.join(' ')}`;
    parts.push(`### ${title}\n\n\`\`\`text\n${await helpText(args)}\n\`\`\``);
  }
  return parts.join('\n\n');
}
