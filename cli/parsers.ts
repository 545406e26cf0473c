import { InvalidArgumentError } from 'commander';

/**
 * commander argument parsers shared by the commands: a bad value is a usage error naming the flag, never a
 * silent `NaN`.
 */
const parser =
  (test: (n: number) => boolean, what: string) =>
  (name: string) =>
  (value: string): number => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!test(n)) throw new InvalidArgumentError(`${name} must be ${what}`);
    return n;
  };

/** A whole number above 0. */
export const positiveInt = parser((n) => Number.isInteger(n) && n > 0, 'a whole number > 0');
/** A whole number, 0 or more. */
export const nonNegativeInt = parser((n) => Number.isInteger(n) && n >= 0, 'a whole number >= 0');
/** Any finite number above 0. */
export const positiveNumber = parser((n) => Number.isFinite(n) && n > 0, 'a positive number');
/** A TCP port: 0 (any free port) to 65535. */
export const port = parser(
  (n) => Number.isInteger(n) && n >= 0 && n <= 65_535,
  'a port from 0 to 65535',
);
