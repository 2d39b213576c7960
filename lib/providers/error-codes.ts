/** The provider refused the call for its rate (EC2's name for throttling). */
export const THROTTLED = 'RequestLimitExceeded'

/**
 * How long cps keeps waiting out throttling (of one call, or of one claim's attaches) before
 * it gives up: the attach queue of a fleet booting at once is about N / 5 s (5000 machines:
 * 17 min), and the Describe buckets are as busy.
 */
export const THROTTLE_BUDGET_MS = 30 * 60_000

/**
 * Provider error codes after which the same request may succeed: throttling, server faults,
 * timeouts (EC2's names; other providers map theirs onto these).
 */
export const TRANSIENT: ReadonlySet<string> = new Set([
  THROTTLED,
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
])

/** Errors of an attach that mean "someone else has this volume": try another. */
export const LOST_RACE: ReadonlySet<string> = new Set([
  'VolumeInUse',
  'IncorrectState',
  'InvalidVolume.NotFound',
])
