import type { Change } from '../plan/change.js'
import { describeTags, Tag, type Volume } from '../providers/provider.js'
import { type Step, same } from './context.js'

/** A volume created for another instance is left to it for this long (its claim from birth). */
export const CREATED_FOR_GRACE_MS = 180_000

/** Can this instance try to claim the volume? */
export function isCandidate(
  vol: Volume,
  instanceId: string,
  heldByOthers: Set<string>,
  now = Date.now(),
): boolean {
  if (vol.state !== 'available' || vol.attachedTo) return false
  if (heldByOthers.has(vol.id)) return false
  const createdFor = vol.tags[Tag.createdFor]
  if (createdFor && createdFor !== instanceId && now - Date.parse(vol.createdAt) < CREATED_FOR_GRACE_MS)
    return false
  return true
}

/**
 * discover: is a pool volume already attached to this instance? The checkpoint's volume id is
 * a hint, re-verified against the provider. Also lists the claim candidates.
 */
export const discover: Step = async (ctx, { provider, checkpoint, heldByOthers, log }) => {
  const out: Change[] = []
  const warnings: string[] = []
  const instanceId = await provider.instanceId()
  const facts = checkpoint.facts(ctx.spec.name)
  const pool = await provider.listPool(ctx.spec.poolTags)
  const mine = pool.filter((v) => v.attachedTo === instanceId && !heldByOthers.has(v.id))

  if (facts.volumeId && !mine.some((v) => v.id === facts.volumeId)) {
    const seen = pool.find((v) => v.id === facts.volumeId)
    const where = seen
      ? seen.attachedTo
        ? `attached to ${seen.attachedTo}`
        : seen.state
      : 'gone from the pool'
    const msg = `checkpoint names ${facts.volumeId} but it is ${where}; rediscovering`
    warnings.push(msg)
    log.warn(msg)
  }
  const ours = mine.find((v) => v.id === facts.volumeId) ?? mine[0]
  if (mine.length > 1 && !mine.some((v) => v.id === facts.volumeId)) {
    const msg = `${mine.length} pool volumes are attached to this instance (${mine.map((v) => v.id).join(', ')}); using ${ours?.id}`
    warnings.push(msg)
    log.warn(msg)
  }
  const candidates = pool.filter((v) => isCandidate(v, instanceId, heldByOthers)).map((v) => v.id)

  if (ours) {
    same(ctx, out, 'discover', `volume ${ours.id} (${ours.sizeGiB} GiB) is attached to this instance`)
    if (ctx.mode === 'apply' && facts.volumeId !== ours.id)
      await checkpoint.update(ctx.spec.name, { volumeId: ours.id, claimId: undefined })
    return {
      instanceId,
      volumeId: ours.id,
      candidates,
      changes: out,
      warnings,
      summary: `${ours.id} attached`,
    }
  }
  return {
    instanceId,
    candidates,
    changes: out,
    warnings,
    summary: `no volume of pool ${describeTags(ctx.spec.poolTags)} attached; ${candidates.length} available`,
  }
}
