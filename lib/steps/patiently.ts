import { backoff, realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { THROTTLE_BUDGET_MS, TRANSIENT } from '../providers/error-codes.js'
import type { Volume } from '../providers/provider.js'
import type { StepDeps } from './context.js'

/**
 * Run `call` until it does not fail transiently: throttling, server faults and timeouts are
 * waited out with full-jitter backoff for up to 30 minutes; any other error is thrown. `onWait`
 * runs after each wait (to keep a claim fresh). For calls whose every attempt must be decided
 * anew (the provider's own retries would repeat a stale decision).
 */
export async function patiently<T>(
  call: () => Promise<T>,
  deps: StepDeps,
  onWait?: () => Promise<void>,
): Promise<T> {
  const clock = deps.clock ?? realClock
  const random = deps.random ?? Math.random
  const started = clock.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      if (
        !(err instanceof ProviderError) ||
        !TRANSIENT.has(err.code ?? '') ||
        clock.now() - started > THROTTLE_BUDGET_MS
      )
        throw err
      await clock.sleep(backoff(attempt, random))
      await onWait?.()
    }
  }
}

/**
 * Attach a volume that is ours to take (we created it, or won its consensus claim), patiently;
 * a lost race is thrown like any other error that is not transient.
 */
export function attachPatiently(vol: Volume, deps: StepDeps, onWait?: () => Promise<void>): Promise<Volume> {
  return patiently(() => deps.provider.attachVolume(vol), deps, onWait)
}
