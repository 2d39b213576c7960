import { setTimeout as delay } from 'node:timers/promises'

/** Time, injectable: the EC2 simulator's virtual clock makes long waits cost no real time. */
export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => delay(ms),
}

/**
 * Poll `check` with exponential backoff (from `firstMs`, ×1.5, at most `maxMs` apart), after an
 * optional first `delayMs`, until it returns a value, or `timeoutMs` passes; then undefined.
 */
export async function poll<T>(
  clock: Clock,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; firstMs?: number; maxMs?: number; delayMs?: number },
): Promise<T | undefined> {
  const deadline = clock.now() + opts.timeoutMs
  let wait = opts.firstMs ?? 250
  // Known latencies: do not ask before the answer can be yes.
  if (opts.delayMs) await clock.sleep(opts.delayMs)
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (clock.now() >= deadline) return undefined
    await clock.sleep(Math.min(wait, Math.max(1, deadline - clock.now())))
    wait = Math.min(wait * 1.5, opts.maxMs ?? 5000)
  }
}

/**
 * Full-jitter exponential backoff with the SDK's throttling numbers (base 1 s, cap 20 s): a
 * random wait in [0, min(cap, 1 s × 2^attempt)). Claiming passes a wider cap (its pacing window).
 */
export function backoff(attempt: number, random: () => number = Math.random, capMs = 20_000): number {
  return random() * Math.min(capMs, 1000 * 2 ** Math.min(attempt, 10))
}
