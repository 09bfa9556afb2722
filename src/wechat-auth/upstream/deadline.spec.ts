import { FakeClock } from '../../common/clock/fake-clock';
import { Deadline } from './deadline';

describe('Deadline', () => {
  it('is fixed when created and counts down with the clock', () => {
    const clock = new FakeClock(1_000_000);
    const deadline = Deadline.after(clock, 8000);

    expect(deadline.at).toBe(1_008_000);
    expect(deadline.remainingMs()).toBe(8000);
    clock.advance(7000);
    expect(deadline.remainingMs()).toBe(1000);
    clock.advance(1500);
    expect(deadline.remainingMs()).toBe(-500);
  });

  it('allows exactly what still fits, the boundary included', () => {
    const clock = new FakeClock(0);
    const deadline = Deadline.after(clock, 1000);

    expect(deadline.allows(1000)).toBe(true);
    expect(deadline.allows(1001)).toBe(false);
    clock.advance(800);
    expect(deadline.allows(200)).toBe(true);
    expect(deadline.allows(201)).toBe(false);
  });
});
