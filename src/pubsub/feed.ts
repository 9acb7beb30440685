import { AppError, ErrorCode } from "../errors.ts";

/**
 * Live messages one subscriber has not read yet. Reading is paced by the
 * subscriber's connection (graphql-ws awaits each socket write, SSE waits for
 * `drain`), so a slow or stalled client makes its feed grow here and nowhere
 * else: at `limit` unread messages the feed drops them and fails with
 * RATE_LIMITED, and the subscription ends. Publishers, the Redis connection
 * and other subscribers never wait for it.
 */
export type LiveFeed<T> = AsyncIterableIterator<T> & {
  /**
   * Resolves once Redis confirms the channel subscription: nothing published
   * from then on is missed (of attempts, nothing caused from then on; see pubsub.ts).
   */
  ready: Promise<void>;
  /** Unsubscribes. */
  return(): Promise<IteratorResult<T>>;
};

export function subscriberTooSlow(limit: number): AppError {
  return new AppError(
    ErrorCode.RATE_LIMITED,
    `this subscription fell more than ${limit} messages behind and was dropped; subscribe again, and read what was missed from the deliveries query`,
  );
}

/**
 * A feed and the function that pushes into it. `onClose` runs once, when the
 * subscriber is done (returned) or dropped. One reader at a time, as
 * graphql-js and graphql-yoga read.
 */
export function createFeed<T>(opts: { limit: number; ready: Promise<void>; onClose: () => void }) {
  const unread: T[] = [];
  let reader: ((result: IteratorResult<T>) => void) | null = null;
  let failure: AppError | null = null;
  let closed = false;

  const close = () => {
    if (closed) return;
    closed = true;
    opts.onClose();
    reader?.({ value: undefined, done: true });
    reader = null;
  };

  const push = (value: T) => {
    if (closed) return;
    if (reader) {
      reader({ value, done: false });
      reader = null;
    } else if (unread.length < opts.limit) {
      unread.push(value);
    } else {
      unread.length = 0;
      failure = subscriberTooSlow(opts.limit);
      close();
    }
  };

  const feed: LiveFeed<T> = {
    ready: opts.ready,
    next() {
      if (unread.length > 0) return Promise.resolve({ value: unread.shift() as T, done: false });
      if (failure) {
        const error = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        reader = resolve;
      });
    },
    return() {
      unread.length = 0;
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { feed, push };
}
