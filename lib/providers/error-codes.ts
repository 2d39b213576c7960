/** The provider refused the call for its rate (EC2's name for throttling). */
export const THROTTLED = 'RequestLimitExceeded'

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
