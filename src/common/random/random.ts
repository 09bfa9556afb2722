import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/** Randomness behind an injectable so tests can make ids and jitter predictable. */
@Injectable()
export class Random {
  bytes(n: number): Buffer {
    return randomBytes(n);
  }

  uuid(): string {
    return randomUUID();
  }

  /** Uniform float in [0, 1), for jitter. */
  fraction(): number {
    return randomInt(2 ** 47) / 2 ** 47;
  }
}
