/**
 * Provider error codes after which the same request may succeed: throttling, server faults,
 * timeouts (EC2's names; other providers map theirs onto these).
 */
export const TRANSIENT: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
])
