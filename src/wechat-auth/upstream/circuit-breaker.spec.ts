import { FakeClock } from '../../common/clock/fake-clock';
import { CircuitBreaker } from './circuit-breaker';

const THRESHOLD = 3;
const COOLDOWN_MS = 30_000;

function setup() {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker(THRESHOLD, COOLDOWN_MS, clock);
  const open = () => {
    for (let i = 0; i < THRESHOLD; i++) breaker.onFailure();
  };
  /** Opens the breaker, waits out the cooldown and takes the one probe permit. */
  const takeProbe = () => {
    open();
    clock.advance(COOLDOWN_MS);
    return breaker.tryAcquire();
  };
  return { clock, breaker, open, takeProbe };
}

describe('CircuitBreaker', () => {
  it('starts closed and lets calls through as non-probes', () => {
    const { breaker } = setup();

    expect(breaker.current).toBe('closed');
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: false });
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: false });
  });

  it('stays closed below the threshold and opens at the threshold-th consecutive failure', () => {
    const { breaker } = setup();

    for (let i = 0; i < THRESHOLD - 1; i++) breaker.onFailure();
    expect(breaker.current).toBe('closed');
    expect(breaker.tryAcquire().allowed).toBe(true);

    breaker.onFailure();
    expect(breaker.current).toBe('open');
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: COOLDOWN_MS });
  });

  it('counts only consecutive failures: a success in between resets the count', () => {
    const { breaker } = setup();

    breaker.onFailure();
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    breaker.onFailure();

    expect(breaker.current).toBe('closed');
    expect(breaker.tryAcquire().allowed).toBe(true);
  });

  it('fails fast for the whole cooldown, with the time left as retryAfterMs', () => {
    const { clock, breaker, open } = setup();
    open();

    clock.advance(10_000);
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 20_000 });
    clock.advance(19_999);
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(breaker.current).toBe('open');
  });

  it('after the cooldown lets exactly one probe through; the others fail fast while it is out', () => {
    const { clock, breaker, open } = setup();
    open();
    clock.advance(COOLDOWN_MS);

    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: true });
    expect(breaker.current).toBe('half-open');
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 1000 });
  });

  it("closes on the probe's success", () => {
    const { breaker, takeProbe } = setup();
    takeProbe();

    breaker.onSuccess();

    expect(breaker.current).toBe('closed');
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: false });
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: false });
  });

  it("reopens for a full cooldown on the probe's failure, without waiting for the threshold again", () => {
    const { clock, breaker, takeProbe } = setup();
    takeProbe();

    breaker.onFailure();

    expect(breaker.current).toBe('open');
    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: COOLDOWN_MS });
    clock.advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: true });
  });

  it('after a success closed it, needs the full threshold of failures to open again', () => {
    const { breaker, takeProbe } = setup();
    takeProbe();
    breaker.onSuccess();

    for (let i = 0; i < THRESHOLD - 1; i++) breaker.onFailure();

    expect(breaker.current).toBe('closed');
  });

  it('an abandoned probe frees the way for another probe', () => {
    const { breaker, takeProbe } = setup();
    const probe = takeProbe();

    breaker.onAbandon(probe);

    expect(breaker.current).toBe('half-open');
    expect(breaker.tryAcquire()).toEqual({ allowed: true, probe: true });
  });

  it('abandoning a non-probe permit changes nothing', () => {
    const { clock, breaker, open } = setup();
    const normal = breaker.tryAcquire();
    open();
    clock.advance(COOLDOWN_MS);
    breaker.tryAcquire();

    breaker.onAbandon(normal);

    expect(breaker.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 1000 });
  });
});
