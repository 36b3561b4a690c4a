import type { RegisterCommand } from '../context.ts';

export const registerServer: RegisterCommand = (program) => {
  program
    .command('server')
    .description('run the embedded SMS API server standalone')
    .action(() => {
      throw new Error('the server command is being built');
    });
};
