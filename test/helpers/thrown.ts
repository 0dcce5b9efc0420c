// Test helper: what a call threw (undefined when it returned), for checking an error's code
// as well as its message; toThrow() compares messages only.
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}
