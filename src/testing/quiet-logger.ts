import { Logger } from '@nestjs/common';

/**
 * Keeps Nest's Logger quiet (log, warn, error) in every test of the file or describe block that calls it,
 * and restores all mocks after each test.
 */
export function quietNestLogger(): void {
  beforeEach(() => {
    for (const m of ['log', 'warn', 'error'] as const)
      jest.spyOn(Logger.prototype, m).mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });
}
