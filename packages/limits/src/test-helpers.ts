import { randomUUID } from 'node:crypto';
import { createKeys, type Keys } from '@sluice/redis';
import { FakeClock, TestConnections } from '@sluice/testing';
import { createLimits, type Limiter, type LimitsOptions } from './limiter.ts';

/** A test's own Redis connections and key prefix; `close()` ends the connections. */
export class TestRedis {
  readonly keys: Keys = createKeys(`t${randomUUID().replaceAll('-', '')}`);
  readonly clock = new FakeClock();
  readonly #connections = new TestConnections();

  /** A new connection, as a separate process would have. */
  connect() {
    return this.#connections.connect('limits-test');
  }

  /** A limiter on its own connection, sharing this test's prefix and clock. */
  limiter(options: Partial<LimitsOptions> = {}): Limiter {
    return createLimits({ redis: this.connect(), keys: this.keys, clock: this.clock.read, ...options });
  }

  close(): void {
    this.#connections.close();
  }
}
