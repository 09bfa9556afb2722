import { Logger } from '@nestjs/common';
import { EventHandlers } from './event-handlers';

const MEDIA = {
  MsgType: 'event',
  Event: 'wxa_media_check',
  trace_id: 'trace-1',
  result: { suggest: 'pass' },
};

describe('EventHandlers', () => {
  afterEach(() => jest.restoreAllMocks());

  it('runs the registered handler after dispatch returns, not during it', async () => {
    const handlers = new EventHandlers();
    const seen: unknown[] = [];
    handlers.on('wxa_media_check', (e) => void seen.push(e));
    handlers.dispatch(MEDIA);
    expect(seen).toEqual([]);
    await handlers.drain();
    expect(seen).toEqual([MEDIA]);
  });

  it('by default logs an unknown trace id at debug and drops the event', async () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const handlers = new EventHandlers();
    handlers.dispatch(MEDIA);
    await handlers.drain();
    expect(debug).toHaveBeenCalledWith(
      expect.objectContaining({ event: 'wxa_media_check', traceId: 'trace-1' }),
      expect.stringContaining('unknown trace id'),
    );
  });

  it('a handler that throws is logged by name, never rethrown; unknown events are ignored', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const handlers = new EventHandlers();
    handlers.on('wxa_media_check', () => {
      throw new Error('secret detail trace-1');
    });
    expect(() => handlers.dispatch(MEDIA)).not.toThrow();
    expect(() => handlers.dispatch({ MsgType: 'event', Event: 'something_new' })).not.toThrow();
    expect(() => handlers.dispatch({ MsgType: 'text', Content: 'hi' })).not.toThrow();
    await handlers.drain();
    expect(error).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(error.mock.calls)).not.toContain('secret detail');
  });

  it('a repeated event reaches the handler again (handlers are idempotent by contract)', async () => {
    const handlers = new EventHandlers();
    let count = 0;
    handlers.on('wxa_media_check', async () => {
      await Promise.resolve();
      count++;
    });
    handlers.dispatch(MEDIA);
    handlers.dispatch(MEDIA);
    await handlers.drain();
    expect(count).toBe(2);
  });
});
