import { ProviderError, withHint } from '../errors.js'
import type { Change } from '../plan/change.js'
import type { Volume } from '../providers/provider.js'
import { act, type ReconcileContext, type Step, type StepDeps, same } from './context.js'
import { verifyIdentity } from './identity.js'

/** The volume's provider record, which must exist once claimed. */
export async function mustGetVolume(deps: StepDeps, id: string, name: string): Promise<Volume> {
  const vol = await deps.provider.getVolume(id)
  if (!vol)
    throw new ProviderError(`volume ${id} of ${name} no longer exists`, {
      volume: id,
      hint: 'it was deleted outside cps; remove it from the checkpoint (or the checkpoint file) and rerun',
    })
  return vol
}

/** The claimed volume: as this run last saw it, else read from the provider. */
export async function currentVolume(ctx: ReconcileContext, deps: StepDeps): Promise<Volume> {
  if (ctx.volume && ctx.volume.id === ctx.volumeId) return ctx.volume
  return mustGetVolume(deps, ctx.volumeId as string, ctx.spec.name)
}

/** attach: make the volume's block device present on this host and check its identity. */
export const attach: Step = async (ctx, deps) => {
  const out: Change[] = []
  if (ctx.pending || !ctx.volumeId) {
    await act(ctx, out, 'attach', 'create', 'attach the volume to this host', async () => {})
    return { changes: out, summary: 'would attach' }
  }
  const vol = await currentVolume(ctx, deps)
  const found = await deps.provider.findDevice(vol)
  let device = found
  if (found) {
    same(ctx, out, 'attach', `volume ${vol.id} is device ${found}`)
  } else {
    device = await act(ctx, out, 'attach', 'create', `attach volume ${vol.id} as a block device`, () =>
      withHint(() => deps.provider.ensureDevice(vol), {
        volume: vol.id,
        hint: 'the volume is claimed but its device did not appear; check the provider and rerun',
      }),
    )
    if (!device) return { changes: out, pending: true, summary: 'would attach' }
  }
  const id = await verifyIdentity(
    deps.host,
    device as string,
    vol,
    deps.provider.expectedIdentity(vol, device as string),
  )
  if (ctx.mode === 'apply' && deps.checkpoint.facts(ctx.spec.name).device !== device)
    await deps.checkpoint.update(ctx.spec.name, { device })
  return {
    device,
    changes: out,
    summary: `${vol.id} is ${device}${id.realPath === device ? '' : ` (${id.realPath})`}`,
  }
}
