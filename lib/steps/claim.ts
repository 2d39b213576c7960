import { createHash, randomUUID } from 'node:crypto'
import { backoff, realClock } from '../clock.js'
import { ProviderError } from '../errors.js'
import { failpoint } from '../failpoint.js'
import type { Change } from '../plan/change.js'
import { LOST_RACE, TRANSIENT } from '../providers/error-codes.js'
import { describeTags, Tag, type Volume } from '../providers/provider.js'
import type { CreateOptions } from '../spec/types.js'
import { attachPatiently, MAX_ATTACH_ROUNDS } from './attach-patiently.js'
import { claimConsensus } from './consensus.js'
import { act, type Step, type StepDeps } from './context.js'
import { isCandidate } from './discover.js'

/** A candidate list younger than this is still fresh enough to try again without re-listing. */
const FRESH_LIST_MS = 3000

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
 * only as needed. A throttled attach backs off with full jitter and re-lists from the first page,
 * since a neighbour probably took that volume while we waited. Returns undefined when every
 * candidate is gone (then the caller creates).
 */
export async function claimOptimistic(
  tags: Record<string, string>,
  instanceId: string,
  deps: StepDeps,
): Promise<Volume | undefined> {
  const { provider, heldByOthers, log } = deps
  const random = deps.random ?? Math.random
  const clock = deps.clock ?? realClock
  let cursor: string | undefined
  let passes = 0
  let contended = false
  let throttled = 0
  for (;;) {
    const page = await provider.listAvailable(tags, cursor)
    const listedAt = clock.now()
    const candidates = shuffle(
      page.volumes.filter((v) => isCandidate(v, instanceId, heldByOthers, listedAt)),
      random,
    )
    let relist = false
    if (candidates.length) contended = true
    for (let i = 0; i < candidates.length; ) {
      const vol = candidates[i] as Volume
      try {
        return await provider.attachVolume(vol)
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err
        if (err.code && LOST_RACE.has(err.code)) {
          log.debug(`${vol.id}: ${err.code}, trying the next candidate`)
          i++
          continue
        }
        if (!TRANSIENT.has(err.code ?? '') || ++throttled > MAX_ATTACH_ROUNDS) throw err
        await clock.sleep(backoff(throttled, random))
        // After a long wait the list is stale (neighbours took volumes meanwhile): read it again.
        // After a short one, try the same volume again without spending a DescribeVolumes.
        if (clock.now() - listedAt > FRESH_LIST_MS) {
          relist = true
          break
        }
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
