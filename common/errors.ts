// The one error class of dicap. Native code throws plain Errors with the same `code`
// property, so callers can treat both alike: `if (isDicapError(e, 'DICAP_ERR_RING_SETUP'))`.
export class DicapError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DicapError';
    this.code = code;
  }
}

export function errorCode(error: unknown): string | undefined {
  if (
    error &&
    typeof error === 'object' &&
    'code' in error &&
    typeof (error as { code: unknown }).code === 'string'
  ) {
    return (error as { code: string }).code;
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A bad option, or a bad combination of options: the commands exit with code 2 and its one line. */
export function badConfig(message: string): DicapError {
  return new DicapError('DICAP_ERR_BAD_CONFIG', message);
}
