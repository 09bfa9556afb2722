import { deferred } from '../../testing/async';
import { BackgroundWork } from './background-work';

describe('BackgroundWork', () => {
  it('drain resolves at once when nothing runs', async () => {
    await expect(new BackgroundWork().drain()).resolves.toBeUndefined();
  });

  it('drain waits for every piece of work, including work added while it waits', async () => {
    const work = new BackgroundWork();
    const first = deferred<void>();
    const second = deferred<void>();
    const done: string[] = [];
    work.add(first.promise.then(() => void done.push('first')));

    const drained = work.drain().then(() => done.push('drained'));
    work.add(second.promise.then(() => void done.push('second')));
    first.resolve();
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['first']);

    second.resolve();
    await drained;
    expect(done).toEqual(['first', 'second', 'drained']);
  });
});
