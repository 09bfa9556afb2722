import { FakeClock } from '../../common/clock/fake-clock';
import { flush, track } from '../../testing/async';
import { ConcurrencyLimiter, LimiterRejected } from './concurrency-limiter';

function setup(max = 2, maxQueue = 2) {
  const clock = new FakeClock();
  const limiter = new ConcurrencyLimiter(max, maxQueue, clock);
  const deadline = clock.now() + 5000;
  return { clock, limiter, deadline };
}

/** One slot, taken, and two callers queued for it. */
async function oneTakenTwoQueued() {
  const { limiter, deadline } = setup(1, 2);
  const release = await limiter.acquire(deadline);
  const second = track(limiter.acquire(deadline));
  const third = track(limiter.acquire(deadline));
  return { limiter, release, second, third };
}

describe('ConcurrencyLimiter', () => {
  it('grants up to max slots at once', async () => {
    const { limiter, deadline } = setup();

    await limiter.acquire(deadline);
    await limiter.acquire(deadline);

    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(0);
  });

  it('queues the calls beyond max and rejects beyond the queue bound', async () => {
    const { limiter, deadline } = setup(2, 1);
    await limiter.acquire(deadline);
    await limiter.acquire(deadline);

    const waiter = track(limiter.acquire(deadline));
    await expect(limiter.acquire(deadline)).rejects.toEqual(new LimiterRejected('queue-full'));
    await flush();

    expect(waiter.state).toBe('pending');
    expect(limiter.queued).toBe(1);
    expect(limiter.inFlight).toBe(2);
  });

  it('hands a freed slot to the waiters in FIFO order', async () => {
    const { limiter, release, second, third } = await oneTakenTwoQueued();

    release();
    await flush();

    expect(second.state).toBe('fulfilled');
    expect(third.state).toBe('pending');
    expect(limiter.inFlight).toBe(1);
    expect(limiter.queued).toBe(1);

    (second as { value: () => void }).value();
    await flush();
    expect(third.state).toBe('fulfilled');
  });

  it('a release function frees its slot only once', async () => {
    const { limiter, release, second, third } = await oneTakenTwoQueued();

    release();
    release();
    await flush();

    expect(second.state).toBe('fulfilled');
    expect(third.state).toBe('pending');
    expect(limiter.inFlight).toBe(1);
  });

  it('rejects a waiter whose deadline passes, not a millisecond earlier, and removes it from the queue', async () => {
    const { clock, limiter, deadline } = setup(1, 1);
    const release = await limiter.acquire(deadline);
    const waiter = track(limiter.acquire(deadline));

    clock.advance(4999);
    await flush();
    expect(waiter.state).toBe('pending');

    clock.advance(1);
    await flush();
    expect(waiter).toEqual({ state: 'rejected', error: new LimiterRejected('deadline') });
    expect((waiter as { error: LimiterRejected }).error.reason).toBe('deadline');
    expect(limiter.queued).toBe(0);

    // The rejected waiter does not take the slot when it frees.
    release();
    expect(limiter.inFlight).toBe(0);
  });

  it('rejects at once a waiter whose deadline has already passed', async () => {
    const { clock, limiter } = setup(1, 1);
    await limiter.acquire(clock.now() + 1000);

    await expect(limiter.acquire(clock.now() - 1)).rejects.toEqual(new LimiterRejected('deadline'));
    expect(limiter.queued).toBe(0);
  });

  it('a waiter granted in time keeps its slot when its deadline passes later', async () => {
    const { clock, limiter, deadline } = setup(1, 1);
    const release = await limiter.acquire(deadline);
    const waiter = track(limiter.acquire(deadline));
    release();
    await flush();

    clock.advance(10_000);
    await flush();

    expect(waiter.state).toBe('fulfilled');
    expect(limiter.inFlight).toBe(1);
  });

  it('a freed slot with nobody waiting is simply available again', async () => {
    const { limiter, deadline } = setup(1, 1);
    const release = await limiter.acquire(deadline);
    release();

    await limiter.acquire(deadline);
    expect(limiter.inFlight).toBe(1);
  });
});
