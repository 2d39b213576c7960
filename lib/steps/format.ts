import { randomUUID } from 'node:crypto'
import { RefusalError, withHint } from '../errors.js'
import { failpoint } from '../failpoint.js'
import type { Probe, Signature } from '../hosts/host.js'
import type { Change } from '../plan/change.js'
import { Tag, type Volume } from '../providers/provider.js'
import { currentVolume } from './attach.js'
import { act, type Step, same } from './context.js'
import { verifyIdentity } from './identity.js'

const STARTED = 'started:'

/** The volume with tags set and removed, as this run changed them. */
function withTags(vol: Volume, set: Record<string, string>, remove: string[] = []): Volume {
  const tags = { ...vol.tags, ...set }
  for (const k of remove) delete tags[k]
  return { ...vol, tags }
}

function describe(sig: Signature): string {
  return [
    sig.usage === 'partition_table' ? `${sig.type} partition table` : sig.type,
    sig.uuid && `UUID ${sig.uuid}`,
    sig.label && `label ${sig.label}`,
  ]
    .filter(Boolean)
    .join(', ')
}

/** The one filesystem on the device, when the probe found exactly that. */
function singleFilesystem(p: Probe): Signature | undefined {
  if (p.ambivalent || p.signatures.length === 0) return undefined
  const fs = p.signatures.filter((s) => s.usage !== 'partition_table')
  const types = new Set(p.signatures.map((s) => `${s.type}/${s.uuid}`))
  return fs.length >= 1 && types.size === 1 ? fs[0] : undefined
}

/**
 * format: mkfs only with positive evidence of blankness (DESIGN rule 1). The volume must carry
 * the format token (or the spec says if-blank and both edge MiBs are zeros), blkid and wipefs
 * must find nothing, the edges must be readable and hold no backup GPT. Blank-looking but used
 * disks have cost other tools real data (cloud-init #2766, kubernetes #142243, trident #418).
 */
export const format: Step = async (ctx, deps) => {
  const out: Change[] = []
  const { host, provider, checkpoint } = deps
  const want = ctx.spec.filesystem
  const labelText = want.label ? ` (label ${want.label})` : ''
  if (ctx.pending || !ctx.volumeId || !ctx.device) {
    await act(
      ctx,
      out,
      'format',
      'create',
      `format ${want.type}${labelText} if the volume is blank`,
      async () => {},
    )
    return { changes: out, summary: 'would format' }
  }
  const name = ctx.spec.name
  const vol = await currentVolume(ctx, deps)
  const device = ctx.device
  // Identity again, right before the probe that decides about mkfs.
  await verifyIdentity(host, device, vol, provider.expectedIdentity(vol, device))
  const probe = await host.probe(device)
  const tagUuid = vol.tags[Tag.fsUuid]
  const token = vol.tags[Tag.formatToken]
  const startedUuid = token?.startsWith(STARTED) ? token.slice(STARTED.length) : undefined
  const refuse = (what: string, hint: string) =>
    new RefusalError(`volume ${vol.id} (${device}): ${what}`, { volume: vol.id, device, hint })
  const fs = singleFilesystem(probe)
  const partitioned = probe.signatures.find((s) => s.usage === 'partition_table')

  if (tagUuid) {
    if (probe.signatures.length === 0)
      throw refuse(
        `is tagged ${Tag.fsUuid}=${tagUuid} but the device looks blank; it is never reformatted`,
        'a formatted volume that reads blank means the wrong disk or lost data: investigate before anything writes to it',
      )
    if (!fs || fs.uuid !== tagUuid)
      throw refuse(
        `is tagged ${Tag.fsUuid}=${tagUuid} but the device shows ${probe.signatures.map(describe).join('; ')}`,
        'the device is not the filesystem cps made on this volume: check the device links and the volume tags',
      )
    if (fs.type !== want.type)
      throw refuse(
        `holds ${fs.type} but the spec says ${want.type}; cps never reformats a formatted volume`,
        `set filesystem.type: ${fs.type}, or move the data and retire this volume by hand`,
      )
    same(ctx, out, 'format', `${fs.type} filesystem ${fs.uuid}${fs.label ? ` (label ${fs.label})` : ''}`)
    if (ctx.mode === 'apply' && checkpoint.facts(name).fsUuid !== fs.uuid)
      await checkpoint.update(name, { fsUuid: fs.uuid, mkfsStarted: undefined })
    if (token) {
      // A run died between tagging the UUID and removing the token: finish its bookkeeping.
      await act(ctx, out, 'format', 'update', `remove the leftover ${Tag.formatToken} tag`, () =>
        provider.deleteTags(vol.id, [Tag.formatToken]),
      )
      return {
        fsUuid: fs.uuid,
        volume: withTags(vol, {}, [Tag.formatToken]),
        changes: out,
        summary: `${fs.type} ${fs.uuid}`,
      }
    }
    return { fsUuid: fs.uuid, changes: out, summary: `${fs.type} ${fs.uuid}` }
  }

  if (partitioned)
    throw refuse(
      `holds a ${describe(partitioned)}; cps does not format partitioned disks`,
      'wipe it by hand (wipefs -a) if it is really unused',
    )

  if (probe.signatures.length > 0 && !startedUuid) {
    if (probe.ambivalent || !fs)
      throw refuse(
        `holds several signatures (${probe.signatures.map(describe).join('; ')})`,
        'inspect it with wipefs; cps will not guess',
      )
    if (token)
      throw refuse(
        `was created by cps and should be blank, but holds ${describe(fs)}`,
        'something wrote to this volume outside cps: inspect it before anything formats it',
      )
    // A pool volume made elsewhere, already formatted: adopt it if it is what the spec asks.
    if (fs.type !== want.type || !fs.uuid)
      throw refuse(
        `holds ${describe(fs)} but the spec says ${want.type}`,
        `set filesystem.type: ${fs.type} to use it as it is; cps never reformats`,
      )
    await act(
      ctx,
      out,
      'format',
      'update',
      `adopt existing ${fs.type} filesystem ${fs.uuid} (tag ${Tag.fsUuid})`,
      async () => {
        await provider.setTags(vol.id, { [Tag.fsUuid]: fs.uuid as string })
        await checkpoint.update(name, { fsUuid: fs.uuid })
      },
    )
    return {
      fsUuid: fs.uuid,
      volume: withTags(vol, { [Tag.fsUuid]: fs.uuid }),
      changes: out,
      summary: `adopted ${fs.type} ${fs.uuid}`,
    }
  }

  if (probe.signatures.length > 0 && startedUuid) {
    // An interrupted mkfs: the volume was never mounted (no fs-uuid tag), so mkfs may be redone
    // over its partial signature — but only over our own UUID, never over someone else's.
    const foreign = probe.signatures.find((s) => s.uuid && s.uuid !== startedUuid)
    if (foreign)
      throw refuse(
        `mkfs with UUID ${startedUuid} was interrupted, but the device now shows ${describe(foreign)}`,
        'another writer touched this volume: inspect it by hand',
      )
  }

  // Positive evidence of blankness: permission (token or if-blank) and readable, clean edges.
  const edges = await host.readEdges(device)
  if (edges.backupGpt)
    throw refuse(
      'has a backup GPT header in its last sector: a partitioned disk whose front was wiped',
      'inspect it with wipefs and gdisk; cps will not format it',
    )
  if (!token) {
    if (want.format !== 'if-blank')
      throw refuse(
        `looks blank but carries no ${Tag.formatToken} tag: cps did not create it, and filesystem.format is if-created`,
        'if this pool holds blank volumes made elsewhere, set filesystem.format: if-blank (--format if-blank)',
      )
    if (!edges.firstZero || !edges.lastZero)
      throw refuse(
        `looks blank to blkid but its ${edges.firstZero ? 'last' : 'first'} MiB is not zeros`,
        'if-blank needs zeroed edges; inspect the device, zero it by hand if it is really unused',
      )
  }

  const uuid = startedUuid ?? randomUUID()
  const redo = startedUuid !== undefined
  await act(
    ctx,
    out,
    'format',
    'create',
    `${redo ? 'redo interrupted ' : ''}mkfs ${want.type} on ${device}, UUID ${uuid}${labelText}`,
    async () => {
      await checkpoint.update(name, { mkfsStarted: { uuid, at: new Date().toISOString() } })
      if (!redo) await provider.setTags(vol.id, { [Tag.formatToken]: `${STARTED}${uuid}` })
      await withHint(
        () =>
          host.mkfs(device, {
            type: want.type,
            uuid,
            label: want.label,
            options: want.mkfsOptions,
            force: redo || probe.signatures.length > 0,
          }),
        {
          volume: vol.id,
          device,
          hint: 'the volume keeps its started token, so the next run redoes mkfs; check mkfsOptions and the kernel log',
        },
      )
      failpoint('after-mkfs')
      const after = singleFilesystem(await host.probe(device))
      if (after?.uuid !== uuid || after.type !== want.type)
        throw refuse(
          `mkfs finished but the device shows ${after ? describe(after) : 'nothing'}, not ${want.type} ${uuid}`,
          'inspect the device; the volume keeps its started token so the next run redoes mkfs',
        )
      await provider.setTags(vol.id, { [Tag.fsUuid]: uuid })
      await provider.deleteTags(vol.id, [Tag.formatToken])
      await checkpoint.update(name, { fsUuid: uuid, mkfsStarted: undefined })
    },
  )
  const done = ctx.mode === 'apply'
  return {
    fsUuid: done ? uuid : undefined,
    volume: done ? withTags(vol, { [Tag.fsUuid]: uuid }, [Tag.formatToken]) : vol,
    pending: done ? undefined : true,
    changes: out,
    summary: `${done ? 'made' : 'would make'} ${want.type} ${uuid}`,
  }
}
