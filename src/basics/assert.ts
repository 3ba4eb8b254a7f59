/**
 * Invariant checks. A failed assertion is a bug in votervault, never bad input: bad input gets
 * a coded error from the module that parsed it.
 */

/** Error thrown when an internal invariant does not hold. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Crashes when `condition` is false.
 * @throws AssertionError
 */
export function assert(condition: unknown, message = 'Assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/**
 * Marks a branch that the type system proves unreachable, such as the end of an exhaustive
 * `switch` over a union.
 * @throws AssertionError always
 */
export function unreachable(value: never): never {
  throw new AssertionError(`Unreachable value "${String(value)}"`);
}
