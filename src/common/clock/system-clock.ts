import { Injectable } from '@nestjs/common';
import { Clock } from './clock';

@Injectable()
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }
}
