import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy that holds every chunk for `delayMs` in each direction: Redis "a few milliseconds away", as in
 * a managed Redis in another zone, so races between instances that loopback hides show up in tests.
 */
export class DelayProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly delayMs: number,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      this.pipe(client, upstream);
      this.pipe(upstream, client);
      // A close travels as late as the data before it (Redis answers QUIT with OK, then closes).
      client.on('close', () => setTimeout(() => upstream.destroy(), this.delayMs + 1));
      upstream.on('close', () => setTimeout(() => client.destroy(), this.delayMs + 1));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Order is kept: each chunk is written `delayMs` after it arrived, after the chunks before it. */
  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.delayMs);
    });
  }
}
