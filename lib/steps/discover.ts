import type { Change } from '../plan/change.js'
import { describeTags, inPool, Tag, type Volume } from '../providers/provider.js'
import { type Step, same } from './context.js'

/**
 * A volume created for another instance is left to it for this long (its claim from birth).
 * It must outlast the attach queue of a large fleet boot (≈ N / 5 s: 200 s for 1000 machines),
 * or neighbours take volumes from under their creators.
 */
export const CREATED_FOR_GRACE_MS = 15 * 60_000

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
 * a hint, re-verified against the provider. On a converged host this is the only cloud read.
 */
export const discover: Step = async (ctx, { provider, checkpoint, heldByOthers, log }) => {
  const out: Change[] = []
  const warnings: string[] = []
  const warn = (msg: string) => {
    warnings.push(msg)
    log.warn(msg)
  }
  const instanceId = await provider.instanceId()
  const facts = checkpoint.facts(ctx.spec.name)
  const mine = (await provider.findAttached(ctx.spec.poolTags)).filter((v) => !heldByOthers.has(v.id))
  const hinted = mine.find((v) => v.id === facts.volumeId)

  let ours = hinted
  if (facts.volumeId && !hinted) {
    // Re-verify the hint directly: a listing can lag an attach that just happened.
    const seen = await provider.getVolume(facts.volumeId)
    if (seen?.attachedTo === instanceId && inPool(seen, ctx.spec.poolTags) && !heldByOthers.has(seen.id))
      ours = seen
    else {
      const where = !seen ? 'gone' : seen.attachedTo ? `attached to ${seen.attachedTo}` : seen.state
      warn(`checkpoint names ${facts.volumeId} but it is ${where}; rediscovering`)
    }
  }
  ours ??= mine[0]
  if (mine.length > 1 && !hinted && ours === mine[0])
    warn(
      `${mine.length} pool volumes are attached to this instance (${mine.map((v) => v.id).join(', ')}); using ${ours?.id}`,
    )

  if (ours) {
    same(ctx, out, 'discover', `volume ${ours.id} (${ours.sizeGiB} GiB) is attached to this instance`)
    if (ctx.mode === 'apply' && facts.volumeId !== ours.id)
      await checkpoint.update(ctx.spec.name, { volumeId: ours.id, claimId: undefined })
    return {
      instanceId,
      volumeId: ours.id,
      volume: ours,
      changes: out,
      warnings,
      summary: `${ours.id} attached`,
    }
  }
  return {
    instanceId,
    changes: out,
    warnings,
    summary: `no volume of pool ${describeTags(ctx.spec.poolTags)} attached`,
  }
}
