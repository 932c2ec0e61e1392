import { describe, expect, it } from 'vitest';
import { failureKindForStatus } from './upstream.ts';

describe('failureKindForStatus', () => {
  it('gives every provider the same kind for a status', () => {
    expect(failureKindForStatus(429)).toBe('rate_limited');
    expect(failureKindForStatus(500)).toBe('server_error');
    expect(failureKindForStatus(529)).toBe('server_error'); // Anthropic's "overloaded"
    expect(failureKindForStatus(409)).toBe('server_error');
    expect(failureKindForStatus(401)).toBe('auth');
    expect(failureKindForStatus(403)).toBe('auth');
    expect(failureKindForStatus(408)).toBe('timeout');
    expect(failureKindForStatus(400)).toBe('bad_request');
    expect(failureKindForStatus(404)).toBe('bad_request');
    expect(failureKindForStatus(422)).toBe('bad_request');
  });
});
