import type { Random } from '../common/random/random';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID: 26 Crockford base32 characters, 10 for the time in ms and 16 (80 bits) of randomness. */
export const EVENT_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const MAX_TIME = 2 ** 48 - 1;
const RANDOM_MAX = (1n << 80n) - 1n;

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/**
 * Mints event ids that sort in creation order: by time, and within one millisecond of this process by
 * incrementing the previous random part (ULID's monotonic mode). Across instances, ties within a millisecond
 * order randomly but stably, which is all the cursor needs.
 */
export class EventIdFactory {
  private lastTime = -1;
  private lastRandom = 0n;

  constructor(private readonly random: Pick<Random, 'bytes'>) {}

  next(timeMs: number): string {
    const time = Math.min(Math.max(0, Math.floor(timeMs)), MAX_TIME);
    if (time === this.lastTime && this.lastRandom < RANDOM_MAX) {
      this.lastRandom += 1n;
    } else {
      this.lastTime = time;
      this.lastRandom = BigInt(`0x${this.random.bytes(10).toString('hex')}`);
    }
    return encode(BigInt(time), 10) + encode(this.lastRandom, 16);
  }
}
