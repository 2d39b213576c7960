import { createHash, randomUUID } from 'node:crypto'
import { ProviderError } from '../errors.js'
import { failpoint } from '../failpoint.js'
import type { Change } from '../plan/change.js'
import { describeTags, Tag, type Volume } from '../providers/provider.js'
import type { CreateOptions } from '../spec/types.js'
import { act, type Step } from './context.js'
import { isCandidate } from './discover.js'

/** Errors that mean "someone else won this volume": try the next one. */
const LOST_RACE = new Set(['VolumeInUse', 'IncorrectState', 'InvalidVolume.NotFound'])

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

/**
 * claim: take an available pool volume (optimistic: attach in random order; losing a race
 * moves on) or, when none is left, create one that carries its claim and format token from birth.
 */
export const claim: Step = async (ctx, deps) => {
  const { provider, checkpoint, heldByOthers, random } = deps
  const out: Change[] = []
  if (ctx.volumeId) return { changes: out, summary: `already holds ${ctx.volumeId}` }
  const name = ctx.spec.name
  const instanceId = ctx.instanceId ?? (await provider.instanceId())
  const pool = describeTags(ctx.spec.poolTags)
  const candidates = shuffle(ctx.candidates ?? [], random)

  if (ctx.mode === 'plan') {
    if (candidates.length) {
      await act(
        ctx,
        out,
        'claim',
        'update',
        `attach an available volume of pool ${pool} (candidates: ${candidates.join(', ')})`,
        async () => {},
      )
      return { pending: true, changes: out, summary: `would claim one of ${candidates.length}` }
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

  // Attach is the only atomic operation: whoever attaches first owns the volume.
  const attachFirst = async (ids: string[]): Promise<Volume | undefined> => {
    for (const id of ids) {
      try {
        return await provider.attachVolume(id)
      } catch (err) {
        if (!(err instanceof ProviderError && err.code && LOST_RACE.has(err.code))) throw err
        deps.log.debug(`${id}: ${err.code}, trying the next candidate`)
      }
    }
    return undefined
  }
  // Re-list once when the round is exhausted: volumes may have been freed while we tried.
  const won =
    (await attachFirst(candidates)) ??
    (await attachFirst(
      shuffle(
        (
          await provider.listPool(ctx.spec.poolTags)
        )
          .filter((v) => isCandidate(v, instanceId, heldByOthers))
          .map((v) => v.id),
        random,
      ),
    ))
  if (won) {
    await checkpoint.update(name, { volumeId: won.id, claimId: undefined })
    out.push({
      volume: name,
      step: 'claim',
      action: 'update',
      what: `claimed available volume ${won.id} (${won.sizeGiB} GiB)`,
      done: true,
    })
    return { volumeId: won.id, changes: out, summary: `claimed ${won.id}` }
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
    what: `created volume ${created.id} (${created.sizeGiB} GiB) in pool ${pool}`,
    done: true,
  })
  const vol = await provider.attachVolume(created.id)
  await checkpoint.update(name, { volumeId: vol.id, claimId: undefined })
  return { volumeId: vol.id, changes: out, summary: `created ${vol.id}` }
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

function noneLeft(name: string, pool: string): ProviderError {
  return new ProviderError(
    `pool ${pool} has no available volume for ${name}, and the spec has no create.sizeGiB`,
    {
      volume: name,
      hint: 'add volumes to the pool, free one, or set create.sizeGiB (--size) so cps creates one',
    },
  )
}
