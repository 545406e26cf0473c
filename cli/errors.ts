import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { redactSecrets } from '#lib/posthog/index.ts';

/**
 * The CLI's one error module: every command (`persons-relay …` and `npm start`) ends in {@link reportError}, so a
 * user mistake prints one line that names the flag or file, never a stack trace (the AWS CLI, gh and the Stripe
 * CLI behave the same). `--debug` or `DEBUG=persons-relay` prints the stack as well.
 *
 * Exit codes: 0 done, 1 failed (a file, a port, the network, rejected input), 2 usage (an unknown flag, a bad
 * flag value, a missing setting or a bad combination of flags).
 */

/** A mistake in how the command was called: exit 2. The message names the flag. */
export class UsageError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command could not do its job for a reason it can state in one line (exit 1). */
export class CliError extends Error {
  readonly exitCode = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
  }
}

interface SystemError extends Error {
  code?: string;
  path?: string;
  port?: number;
  address?: string;
  syscall?: string;
}

/** The first Node system error code (`ENOENT`, `ECONNREFUSED`, …) in the cause chain, with its error. */
export function systemErrorOf(error: unknown): SystemError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth += 1) {
    const code = (current as SystemError).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return current as SystemError;
    // Node 20's happy-eyeballs connect reports an AggregateError whose parts carry the code.
    if (current instanceof AggregateError && current.errors[0] instanceof Error) {
      current = current.errors[0];
      continue;
    }
    current = current.cause;
  }
  return undefined;
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Reads a UTF-8 file named by `flag`; a missing file or a directory is a one-line error naming both. */
export async function readTextFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = systemErrorOf(error)?.code;
    const problem = code === undefined ? undefined : FILE_PROBLEMS[code];
    if (problem === undefined) throw error;
    throw new CliError(`${flag} ${path}: ${problem}`, { cause: error });
  }
}

/** Runs `start` (something that listens on a port) and turns a busy or refused port into an error naming `flag`. */
export async function listeningOn<T>(
  flag: string,
  port: number,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const code = systemErrorOf(error)?.code;
    if (code === 'EADDRINUSE')
      throw new CliError(`${flag} ${port}: the port is already in use (EADDRINUSE)`, {
        cause: error,
      });
    if (code === 'EACCES')
      throw new CliError(`${flag} ${port}: not allowed to listen on this port (EACCES)`, {
        cause: error,
      });
    throw error;
  }
}

/**
 * Runs a call to a remote endpoint and turns a connection failure into one line naming the endpoint, the flag or
 * variable that set it, and the system error code.
 */
export async function reaching<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const system = systemErrorOf(error);
    if (system?.code !== undefined && CONNECTION_CODES.has(system.code)) {
      throw new CliError(`cannot reach ${what} (${system.code})`, { cause: error });
    }
    throw error;
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

/** One line for any error: the message, with the system code and where it happened when Node gave them. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return flatten(String(error));
  const system = systemErrorOf(error);
  let text = error.message;
  if (system !== undefined && system !== error && !text.includes(system.code ?? '')) {
    text = `${text} (${system.code})`;
  }
  if (text.trim() === '' && system !== undefined) {
    const where =
      system.address === undefined
        ? ''
        : ` ${system.address}${system.port ? `:${system.port}` : ''}`;
    text = `${system.syscall ?? 'call'}${where} failed (${system.code})`;
  }
  if (text.trim() === '') text = error.name;
  // AWS SDK errors name the service error (QueueDoesNotExist, AccessDenied…) in `name`, not in the message.
  const named =
    '$metadata' in error && error.name !== 'Error' && !text.includes(error.name)
      ? `${error.name}: ${text}`
      : text;
  return flatten(named);
}

function flatten(text: string): string {
  return redactSecrets(text).replace(/\s+/g, ' ').trim();
}

/** Whether stack traces were asked for: `--debug` anywhere on the command line, or `DEBUG=persons-relay`. */
export function debugRequested(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const debug = env['DEBUG'] ?? '';
  return argv.includes('--debug') || /(^|[\s,])(persons-relay|\*)($|[\s,])/.test(debug);
}

/**
 * Prints an error the way every command does (one line on stderr, `<prefix>: <message>`; the stack too under
 * `--debug`) and returns the exit code. A commander error has already been printed by commander.
 */
export function reportError(
  error: unknown,
  options: { prefix?: string; debug?: boolean; alreadyPrinted?: boolean } = {},
): number {
  const debug = options.debug ?? debugRequested();
  if (error instanceof CommanderError) {
    if (!options.alreadyPrinted)
      process.stderr.write(`${options.prefix ?? 'error'}: ${flatten(error.message)}\n`);
    if (error.exitCode === 0) return 0;
    return 2;
  }
  process.stderr.write(`${options.prefix ?? 'error'}: ${describeError(error)}\n`);
  if (debug && error instanceof Error) {
    process.stderr.write(`${redactSecrets(error.stack ?? '')}\n`);
    for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 5; depth += 1) {
      process.stderr.write(`caused by: ${redactSecrets(cause.stack ?? cause.message)}\n`);
      cause = cause.cause;
    }
  }
  if (error instanceof UsageError || error instanceof CliError) return error.exitCode;
  return 1;
}
