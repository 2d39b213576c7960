import type { Clock } from '../clock.js'
import { createLogger } from '../log.js'
import type { FakeProvider } from '../providers/fake/fake-provider.js'
import { CheckpointStore } from '../state/checkpoint.js'
import type { StepDeps } from '../steps/context.js'

/** Time that passes only when slept (instantly); every sleep is kept, for assertions. */
export function fakeClock(start = Date.parse('2026-01-01T00:00:00Z')): Clock & { sleeps: number[] } {
  let t = start
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms)
      t += ms
    },
  }
}

/**
 * Step dependencies around a fake provider on a fake clock, with randomness fixed at the middle
 * of every range (jittered waits are half their window: easy to predict).
 */
export function timedDeps(provider: FakeProvider, clock: Clock): StepDeps {
  return {
    provider,
    host: provider.host,
    checkpoint: CheckpointStore.inMemory(),
    log: createLogger('pretty', -999),
    heldByOthers: new Set(),
    random: () => 0.5,
    clock,
  }
}
