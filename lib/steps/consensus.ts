import { randomUUID } from 'node:crypto'
import { backoff, realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { LOST_RACE, TRANSIENT } from '../providers/error-codes.js'
import { Tag, type Volume } from '../providers/provider.js'
import { attachPatiently, THROTTLE_BUDGET_MS } from './attach-patiently.js'
import type { StepDeps } from './context.js'
import { isCandidate } from './discover.js'

/** Has another machine a live claim on this available volume? */
export function claimedByOther(
  vol: Volume,
  myToken: string | undefined,
  now: number,
  lockTimeoutMs: number,
): boolean {
  const token = vol.tags[Tag.claimToken]
  if (!token || token === myToken) return false
  const at = Date.parse(vol.tags[Tag.claimTime] ?? '')
  // A claim older than the lock timeout on a volume still available: its machine died.
  return Number.isFinite(at) && now - at < lockTimeoutMs
}

/**
 * claim: consensus — EBS tags have no compare-and-swap, so: tag a candidate with a random
 * token and the time, wait, re-read; the volume is ours only if our token survived (the last
 * writer wins, and everyone re-reads after the same wait). Only then attach. Slower than
 * optimistic by the wait, but never attaches a volume a neighbour is claiming. Returns
 * undefined when every pool volume is in use or claimed (then the caller creates).
 */
export async function claimConsensus(
  tags: Record<string, string>,
  instanceId: string,
  deps: StepDeps,
  opts: { waitSeconds: number; lockTimeoutSeconds: number },
): Promise<Volume | undefined> {
  const { provider, heldByOthers, log } = deps
  const random = deps.random ?? Math.random
  const clock = deps.clock ?? realClock
  const timeoutMs = opts.lockTimeoutSeconds * 1000
  const waitMs = opts.waitSeconds * 1000
  const started = clock.now()
  const claimTags = (token: string) => ({
    [Tag.claimToken]: token,
    [Tag.claimTime]: new Date(clock.now()).toISOString(),
  })

  /**
   * Write our claim on `vol` within half the wait of the read that showed it free. A write that
   * lands later could overwrite the claim of a neighbour who has already re-read it and gone on
   * to attach. A throttled write is retried; once the read is that old, the volume is read again
   * first. False when a neighbour took or claimed it meanwhile.
   */
  async function claimFreshly(vol: Volume, token: string, readAt: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (clock.now() - readAt > waitMs / 2) {
        const now = await provider.getVolume(vol.id)
        readAt = clock.now()
        if (
          !now ||
          !isCandidate(now, instanceId, heldByOthers, readAt) ||
          claimedByOther(now, token, readAt, timeoutMs)
        )
          return false
      }
      try {
        await provider.setTags(vol.id, claimTags(token), { once: true })
        return true
      } catch (err) {
        if (!(err instanceof ProviderError) || !TRANSIENT.has(err.code ?? '')) throw err
        if (clock.now() - started > THROTTLE_BUDGET_MS) throw err
        await clock.sleep(backoff(attempt, random))
      }
    }
  }

  let cursor: string | undefined
  for (;;) {
    const page = await provider.listAvailable(tags, cursor)
    const now = clock.now()
    const free = page.volumes.filter(
      (v) => isCandidate(v, instanceId, heldByOthers, now) && !claimedByOther(v, undefined, now, timeoutMs),
    )
    if (!free.length) {
      if (page.cursor) {
        cursor = page.cursor
        continue
      }
      return undefined
    }
    const vol = free[Math.floor(random() * free.length)] as Volume
    const token = randomUUID()
    if (!(await claimFreshly(vol, token, now))) {
      log.debug(`${vol.id}: taken or claimed by another before our claim could be written, trying another`)
      cursor = undefined
      continue
    }
    await clock.sleep(waitMs)
    const seen = await provider.getVolume(vol.id)
    if (seen?.tags[Tag.claimToken] !== token || seen.state !== 'available') {
      log.debug(`${vol.id}: claimed by another (${seen?.tags[Tag.claimToken] ?? 'gone'}), trying another`)
      cursor = undefined
      continue
    }
    // Ours. Attach, waiting out throttling; keep the claim fresh so a long attach queue does not
    // let it expire under us.
    let claimedAt = clock.now()
    try {
      return await attachPatiently(seen, deps, async () => {
        if (clock.now() - claimedAt <= timeoutMs / 2) return
        claimedAt = clock.now()
        await provider.setTags(vol.id, claimTags(token))
      })
    } catch (err) {
      if (!(err instanceof ProviderError && err.code && LOST_RACE.has(err.code))) throw err
    }
    cursor = undefined
  }
}
