/** What `fn` throws, or undefined when it returns: for checking a synchronous failure's details. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
