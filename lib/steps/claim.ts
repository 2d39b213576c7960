import { createHash, randomUUID } from 'node:crypto'
import { backoff, realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { failpoint } from '../failpoint.js'
import type { Change } from '../plan/change.js'
import { LOST_RACE, THROTTLE_BUDGET_MS, THROTTLED, TRANSIENT } from '../providers/error-codes.js'
import { describeTags, Tag, type Volume } from '../providers/provider.js'
import type { CreateOptions } from '../spec/types.js'
import { claimConsensus } from './consensus.js'
import { act, type Step, type StepDeps } from './context.js'
import { isCandidate } from './discover.js'
import { attachPatiently } from './patiently.js'

/** A list of candidates is read again once about this share of it may have been taken. */
const STALE_SHARE = 0.1
/** The backoff cap after throttled attaches when the fleet's size is unknown (pool > one page). */
const UNKNOWN_FLEET_WINDOW_MS = 30_000
/** Bounds of the backoff cap when it follows the pool's drain time. */
const MIN_WINDOW_MS = 5_000
const MAX_WINDOW_MS = 80_000

/**
 * How claiming uses a list of `candidates` available volumes when neighbours can attach at most
 * `attachRate` volumes a second between them (EC2: 5). The list drains in candidates /
 * attachRate seconds. It is trusted for a tenth of that (about a tenth of it may be gone by
 * then) and read again before the next attempt after that. Throttled attaches back off with
 * full jitter up to a window: when the page is the whole pool, the pool's drain time (5–80 s) —
 * in a pool sized to its fleet the candidates are about as many as the machines still waiting,
 * so their retries arrive at about twice the rate EC2 accepts, and each costs one re-read; when
 * the pool is larger than a page, the fleet's size is unknown and the window is 30 s.
 */
export function pacing(
  candidates: number,
  wholePool: boolean,
  attachRate: number | undefined,
): { trustMs: number; windowMs: number } {
  // A provider that does not throttle attaches: a list holds until its candidates are used up.
  if (!attachRate) return { trustMs: Number.POSITIVE_INFINITY, windowMs: UNKNOWN_FLEET_WINDOW_MS }
  const drainMs = (candidates / attachRate) * 1000
  return {
    trustMs: STALE_SHARE * drainMs,
    windowMs: wholePool ? Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, drainMs)) : UNKNOWN_FLEET_WINDOW_MS,
  }
}

/** Fisher–Yates: N machines trying the first available volume collide N² times. */
export function shuffle<T>(items: T[], random: () => number = Math.random): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
  return a
}

/** The CreateVolume idempotency token for a claim: same claim, same volume (≤ 64 chars). */
export function clientToken(instanceId: string, name: string, claimId: string): string {
  return createHash('sha256').update(`${instanceId}\0${name}\0${claimId}`).digest('hex').slice(0, 64)
}

/** "100 GiB gp3, 6000 IOPS, 250 MiB/s, encrypted, from snap-0abc": what a create asks for. */
export function describeCreate(sizeGiB: number, o: CreateOptions = {}): string {
  const parts = [
    `${sizeGiB} GiB${o.type ? ` ${o.type}` : ''}`,
    o.iops && `${o.iops} IOPS`,
    o.throughputMiBps && `${o.throughputMiBps} MiB/s`,
    o.encrypted && `encrypted${o.kmsKeyId ? ` with ${o.kmsKeyId}` : ''}`,
    o.snapshot?.id && `from ${o.snapshot.id}`,
    o.snapshot?.tags && `from the newest snapshot tagged ${describeTags(o.snapshot.tags)}`,
  ]
  return parts.filter(Boolean).join(', ')
}

/**
 * Optimistic claiming: attach available pool volumes in random order (AttachVolume is the only
 * atomic operation EBS has); losing a race moves on to the next. Pages of candidates are read
 * only as needed. A throttled attach waits (see pacing) and tries the same volume again while
 * the list is fresh; a stale list is read again from the first page, since neighbours took
 * volumes meanwhile. Returns undefined when every candidate is gone (then the caller creates).
 */
export async function claimOptimistic(
  tags: Record<string, string>,
  instanceId: string,
  deps: StepDeps,
): Promise<Volume | undefined> {
  const { provider, heldByOthers, log } = deps
  const random = deps.random ?? Math.random
  const clock = deps.clock ?? realClock
  const started = clock.now()
  let cursor: string | undefined
  let passes = 0
  let contended = false
  let faults = 0
  let throttles = 0
  for (;;) {
    const page = await provider.listAvailable(tags, cursor)
    const listedAt = clock.now()
    const candidates = shuffle(
      page.volumes.filter((v) => isCandidate(v, instanceId, heldByOthers, listedAt)),
      random,
    )
    const { trustMs, windowMs } = pacing(candidates.length, !cursor && !page.cursor, provider.attachRate)
    const stale = () => clock.now() - listedAt > trustMs
    let relist = false
    if (candidates.length) contended = true
    for (let i = 0; i < candidates.length && !relist; ) {
      const vol = candidates[i] as Volume
      try {
        return await provider.attachVolume(vol)
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err
        if (err.code && LOST_RACE.has(err.code)) {
          log.debug(`${vol.id}: ${err.code}, trying the next candidate`)
          i++
          relist = stale()
          continue
        }
        if (!TRANSIENT.has(err.code ?? '') || clock.now() - started > THROTTLE_BUDGET_MS) throw err
        // Throttled: the bucket is empty and neighbours queue for it, so the wait may grow up to
        // the pacing window. A server fault is not about the queue: the usual short backoff.
        await clock.sleep(
          err.code === THROTTLED ? backoff(++throttles, random, windowMs) : backoff(++faults, random),
        )
        relist = stale()
      }
    }
    if (relist) {
      cursor = undefined
      continue
    }
    if (page.cursor) {
      cursor = page.cursor
      continue
    }
    // Every page tried. If we lost races on the way, one more pass from the start: volumes may
    // have been freed meanwhile. An empty pool needs no second look.
    if (!contended || ++passes > 1) return undefined
    cursor = undefined
  }
}

/**
 * claim: take an available pool volume, or, when none is left, create one that carries its
 * claim and format token from birth.
 */
export const claim: Step = async (ctx, deps) => {
  const { provider, checkpoint, heldByOthers } = deps
  const out: Change[] = []
  if (ctx.volumeId) return { changes: out, summary: `already holds ${ctx.volumeId}` }
  const name = ctx.spec.name
  const instanceId = ctx.instanceId ?? (await provider.instanceId())
  const pool = describeTags(ctx.spec.poolTags)

  if (ctx.mode === 'plan') {
    const first = await provider.listAvailable(ctx.spec.poolTags)
    const ids = first.volumes.filter((v) => isCandidate(v, instanceId, heldByOthers)).map((v) => v.id)
    if (ids.length) {
      const shown =
        ids.length > 5
          ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5}${first.cursor ? '+' : ''} more`
          : ids.join(', ')
      await act(
        ctx,
        out,
        'claim',
        'update',
        `attach an available volume of pool ${pool} (candidates: ${shown})`,
        async () => {},
      )
      return { pending: true, changes: out, summary: `would claim one of ${ids.length}` }
    }
    if (ctx.spec.sizeGiB === undefined) throw noneLeft(name, pool)
    await act(
      ctx,
      out,
      'claim',
      'create',
      `create volume ${describeCreate(ctx.spec.sizeGiB, ctx.spec.createOptions)} in pool ${pool}, with a format token`,
      async () => {},
    )
    return { pending: true, changes: out, summary: 'would create a volume' }
  }

  for (let round = 1; ; round++) {
    const won =
      ctx.spec.claim === 'consensus'
        ? await claimConsensus(ctx.spec.poolTags, instanceId, deps, ctx.spec.consensus)
        : await claimOptimistic(ctx.spec.poolTags, instanceId, deps)
    if (won) {
      await checkpoint.update(name, { volumeId: won.id, claimId: undefined })
      out.push({
        volume: name,
        step: 'claim',
        action: 'update',
        what: `claimed available volume ${won.id} (${won.sizeGiB} GiB)`,
        done: true,
      })
      return { volumeId: won.id, volume: won, changes: out, summary: `claimed ${won.id}` }
    }

    if (ctx.spec.sizeGiB === undefined) throw noneLeft(name, pool)
    // The claim id is checkpointed before the create: a crash and rerun sends the same
    // ClientToken and gets the same volume back, never a second one (DESIGN rule 4).
    const claimId = checkpoint.facts(name).claimId ?? randomUUID()
    await checkpoint.update(name, { claimId })
    const created: Volume = await provider.createVolume({
      sizeGiB: ctx.spec.sizeGiB,
      options: ctx.spec.createOptions,
      clientToken: clientToken(instanceId, name, claimId),
      tags: {
        ...ctx.spec.poolTags,
        [Tag.formatToken]: randomUUID(),
        [Tag.createdFor]: instanceId,
        [Tag.name]: name,
      },
    })
    failpoint('after-create')
    out.push({
      volume: name,
      step: 'claim',
      action: 'create',
      what: `created volume ${created.id} (${describeCreate(created.sizeGiB)}) in pool ${pool}`,
      done: true,
    })
    try {
      const vol = await attachPatiently(created, deps)
      await checkpoint.update(name, { volumeId: vol.id, claimId: undefined })
      return { volumeId: vol.id, volume: vol, changes: out, summary: `created ${vol.id}` }
    } catch (err) {
      // Our claim from birth expired before we could attach (a very long attach queue) and a
      // neighbour took the volume: it serves the pool all the same. Claim again, with a new claim.
      if (!(err instanceof ProviderError && err.code && LOST_RACE.has(err.code)) || round >= 3) throw err
      deps.log.warn(
        `volume ${created.id}, created for this instance, was taken by another before it could attach; claiming again`,
      )
      await checkpoint.update(name, { claimId: undefined })
    }
  }
}

function noneLeft(name: string, pool: string): ProviderError {
  return new ProviderError(
    `pool ${pool} has no available volume for ${name}, and the spec has no create.sizeGiB`,
    {
      volume: name,
      hint: 'add volumes to the pool, free one, or set create.sizeGiB (--size) so cps creates one',
    },
  )
}
