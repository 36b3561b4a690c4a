/**
 * The server's defaults, apart from the server itself: the CLI shows them in `--help` and uses them
 * for the embedded target without loading the server's modules.
 */
export const DEFAULT_PORT = 4573;
export const DEFAULT_REGION = 'us-east-1';
