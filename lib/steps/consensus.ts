import { randomUUID } from 'node:crypto'
import { realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { LOST_RACE } from '../providers/error-codes.js'
import { Tag, type Volume } from '../providers/provider.js'
import type { StepDeps } from './context.js'
import { isCandidate } from './discover.js'
import { attachPatiently, patiently } from './patiently.js'

/** Has another machine a live claim on this available volume? */
export function claimedByOther(
  vol: Volume,
  mine: ReadonlySet<string>,
  now: number,
  lockTimeoutMs: number,
): boolean {
  const token = vol.tags[Tag.claimToken]
  if (!token || mine.has(token)) return false
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
  const claimTags = (token: string) => ({
    [Tag.claimToken]: token,
    [Tag.claimTime]: new Date(clock.now()).toISOString(),
  })

  /**
   * Write our claim, retrying throttling and faults here rather than in the provider, since
   * before every attempt `mayWrite` must still hold (it may read the volume again to know).
   */
  const writeClaim = (vol: Volume, token: string, mayWrite: () => Promise<boolean> | boolean) =>
    patiently(async () => {
      if (!(await mayWrite())) return false
      await provider.setTags(vol.id, claimTags(token), { once: true })
      return true
    }, deps)

  /**
   * A first claim is written within half the wait of a read that showed the volume free: a
   * write that lands later could overwrite the claim of a neighbour who has already re-read it
   * and gone on to attach. Once the read is that old, the volume is read again.
   */
  const stillFree = (vol: Volume, readAt: number) => async () => {
    if (clock.now() - readAt <= waitMs / 2) return true
    const now = await provider.getVolume(vol.id)
    readAt = clock.now()
    return (
      !!now &&
      isCandidate(now, instanceId, heldByOthers, readAt) &&
      !claimedByOther(now, mine, readAt, timeoutMs)
    )
  }

  // Our tokens of this run: a claim of ours we gave up (it could not be renewed in time) is
  // still ours to claim again, through the same write, wait and re-read.
  const mine = new Set<string>()
  let cursor: string | undefined
  for (;;) {
    const page = await provider.listAvailable(tags, cursor)
    const now = clock.now()
    const free = page.volumes.filter(
      (v) => isCandidate(v, instanceId, heldByOthers, now) && !claimedByOther(v, mine, now, timeoutMs),
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
    mine.add(token)
    if (!(await writeClaim(vol, token, stillFree(vol, now)))) {
      log.debug(`${vol.id}: taken or claimed by another before our claim could be written, trying another`)
      cursor = undefined
      continue
    }
    // Our claim holds until it expires, less half a wait for clocks that disagree between
    // machines: after that a neighbour may read it as dead and claim the volume.
    let claimedAt = clock.now()
    const live = () => clock.now() - claimedAt < timeoutMs - waitMs / 2
    await clock.sleep(waitMs)
    const seen = await provider.getVolume(vol.id)
    if (seen?.tags[Tag.claimToken] !== token || seen.state !== 'available' || !live()) {
      log.debug(
        `${vol.id}: claimed by another (${seen?.tags[Tag.claimToken] ?? 'gone'}), or ours expired; trying another`,
      )
      cursor = undefined
      continue
    }
    // Ours. Attach, waiting out throttling, and renew the claim every third of the lock timeout
    // so a long attach queue does not let it expire. A renewal that cannot be written while the
    // claim is live (its writes throttled) gives the volume up.
    let lost = false
    try {
      return await attachPatiently(seen, deps, async () => {
        if (clock.now() - claimedAt <= timeoutMs / 3) return
        if (!(await writeClaim(seen, token, live))) {
          lost = true
          throw new Error(`claim on ${vol.id} expired while waiting to attach`)
        }
        claimedAt = clock.now()
      })
    } catch (err) {
      if (!lost && !(err instanceof ProviderError && err.code && LOST_RACE.has(err.code))) throw err
      log.debug(
        `${vol.id}: ${lost ? 'our claim expired before it could be renewed' : 'attached by another'}, trying another`,
      )
    }
    cursor = undefined
  }
}
