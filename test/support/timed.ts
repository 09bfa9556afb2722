import type request from 'supertest';

/** An answer and how long it took (the outage suites bound every answer's time). */
export interface Timed {
  status: number;
  body: { code?: string; [k: string]: unknown };
  retryAfter?: string;
  ms: number;
}

export async function timed(req: PromiseLike<request.Response>): Promise<Timed> {
  const started = Date.now();
  const res = await req;
  return {
    status: res.status,
    body: res.body as Timed['body'],
    retryAfter: res.headers['retry-after'],
    ms: Date.now() - started,
  };
}
