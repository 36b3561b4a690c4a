/** The CLI's window on the world: streams and environment, injectable so tests can run `main` in-process. */
export interface CliIo {
  /**
   * writableLength: what a Writable holds that the OS has not taken yet; destroyed: its reader has
   * gone. Absent (a test's sink), a write is taken at once.
   */
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; readonly writableLength?: number; readonly destroyed?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
};

/** Exit codes: the contract in ARCHITECTURE.md section 4. */
export const ExitCode = {
  ok: 0,
  error: 1,
  changes: 2,
  destructiveChanges: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
