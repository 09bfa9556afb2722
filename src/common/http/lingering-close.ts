import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * How long and how much a connection answered before its request body arrived keeps being read after the
 * answer. Constants for now; they could become settings (as nginx's lingering_time / lingering_timeout).
 */
export interface LingerLimits {
  /** Close at the latest this long after the answer went out. */
  maxMs: number;
  /** Close once the client has sent nothing for this long (it has stopped sending). */
  idleMs: number;
  /** Close once this many more bytes have been read and thrown away. */
  maxBytes: number;
}

export const LINGER_LIMITS: LingerLimits = { maxMs: 10_000, idleMs: 2_000, maxBytes: 64 * 1024 * 1024 };

/** How often a lingering connection's progress is looked at. */
const TICK_MS = 100;

const lingering = new WeakMap<FastifyInstance, Set<Socket>>();

/**
 * Lingering close, as Apache and nginx do it: an answer sent before the request body has arrived (413 for a
 * too-large body, 415, a request refused before parsing) must still reach the client.
 *
 * Such answers carry `Connection: close` (Fastify sets it: the rest of the body must not be parsed as the
 * next request), and on `Connection: close` Node closes the socket as soon as the answer is written. The
 * client is still sending its body then; closing a socket with unread bytes in its receive buffer makes the
 * kernel send a TCP reset instead of a FIN, and a reset makes the client's kernel drop whatever it has not
 * read yet — the 413 included. A client that reads only once it has sent everything (Python's http.client,
 * many SDKs) never saw the answer; clients that read while sending lost it in about half the runs.
 *
 * Instead, once the answer is written: half-close (the answer and a FIN go out), keep reading and throwing
 * away what the client still sends, and close when its request has fully arrived — or when it stops
 * sending, or at the limits above, whichever comes first.
 */
export function registerLingeringClose(
  instance: FastifyInstance,
  limits: LingerLimits = LINGER_LIMITS,
): void {
  const sockets = new Set<Socket>();
  lingering.set(instance, sockets);
  instance.addHook('onSend', (request, _reply, payload, done) => {
    const req = request.raw as IncomingMessage;
    if (!req.complete) lingerOnClose(req, sockets, limits);
    done(null, payload);
  });
  // The app is closing: nothing is left to wait for.
  instance.addHook('preClose', (done) => {
    closeLingering(instance);
    done();
  });
}

/** Closes the connections still lingering now (graceful shutdown: they have had their answer). */
export function closeLingering(instance: FastifyInstance): void {
  for (const socket of lingering.get(instance) ?? []) socket.destroy();
}

function lingerOnClose(req: IncomingMessage, sockets: Set<Socket>, limits: LingerLimits): void {
  const socket = req.socket;
  if (!(socket instanceof Socket) || socket.destroyed || Object.hasOwn(socket, 'destroySoon')) return;
  const own = socket as { destroySoon?: () => void };
  // Node's server calls socket.destroySoon() once an answer with `Connection: close` is written (end, then
  // destroy): this one socket gets a lingering one instead. A kept-alive socket never calls it — Node
  // reads and discards the rest of the body itself — and the next call finds the request complete.
  own.destroySoon = () => {
    delete own.destroySoon;
    if (req.complete || socket.destroyed) socket.destroySoon();
    else linger(req, socket, sockets, limits);
  };
}

function linger(req: IncomingMessage, socket: Socket, sockets: Set<Socket>, limits: LingerLimits): void {
  sockets.add(socket);
  // The answer, then a FIN; the read side stays open (Node's HTTP sockets allow half-open connections).
  socket.end();
  const started = Date.now();
  const bytesAtStart = socket.bytesRead;
  let lastBytes = bytesAtStart;
  let lastProgress = started;
  const close = (): void => {
    clearInterval(timer);
    // Once the answer is flushed: destroy() before that would drop it.
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  const timer = setInterval(() => {
    const now = Date.now();
    if (socket.bytesRead !== lastBytes) {
      lastBytes = socket.bytesRead;
      lastProgress = now;
    }
    if (
      now - started >= limits.maxMs ||
      now - lastProgress >= limits.idleMs ||
      socket.bytesRead - bytesAtStart >= limits.maxBytes
    )
      close();
  }, TICK_MS);
  timer.unref();
  socket.once('close', () => {
    clearInterval(timer);
    sockets.delete(socket);
  });
  // Node's parser keeps reading the body (and drops it: the request is dumped, or has no listener left);
  // when it has all arrived, nothing unread remains and the close is an orderly one.
  req.once('end', close);
  req.resume();
}
