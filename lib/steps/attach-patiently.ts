import { backoff, realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { THROTTLE_BUDGET_MS, TRANSIENT } from '../providers/error-codes.js'
import type { Volume } from '../providers/provider.js'
import type { StepDeps } from './context.js'

/**
 * Attach a volume that is ours to take (we created it, or won its consensus claim): throttling,
 * server faults and timeouts are waited out with full-jitter backoff; any other error, a lost
 * race included, is thrown. `onWait` runs after each wait (to keep a claim fresh).
 */
export async function attachPatiently(
  vol: Volume,
  deps: StepDeps,
  onWait?: () => Promise<void>,
): Promise<Volume> {
  const clock = deps.clock ?? realClock
  const random = deps.random ?? Math.random
  const started = clock.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.provider.attachVolume(vol)
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
