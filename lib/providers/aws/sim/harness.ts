import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reconcileVolume } from '../../../../machines/reconcile.js'
import { createLogger } from '../../../log.js'
import type { ResolvedVolume } from '../../../spec/types.js'
import { CheckpointStore } from '../../../state/checkpoint.js'
import type { ReconcileContext } from '../../../steps/context.js'
import type { SimMachine } from './connect.js'

/** EC2 calls that change something: plan must make none of them. */
export const MUTATING = new Set([
  'CreateVolume',
  'AttachVolume',
  'DetachVolume',
  'ModifyVolume',
  'CreateTags',
  'DeleteTags',
  'CreateSnapshot',
  'DeleteVolume',
])

let root: string | undefined

/** Run the reconcile machine for one spec volume on a simulated instance (its own checkpoint). */
export async function boot(
  m: SimMachine,
  spec: ResolvedVolume,
  mode: 'apply' | 'plan' = 'apply',
): Promise<ReconcileContext> {
  root ??= mkdtempSync(join(tmpdir(), 'cps-sim-'))
  const checkpoint = await CheckpointStore.open(join(root, m.instanceId, 'state.json'), {
    readOnly: mode === 'plan',
  })
  return reconcileVolume(
    {
      provider: m.provider,
      host: m.host,
      checkpoint,
      log: createLogger('pretty', -999),
      heldByOthers: new Set(),
      clock: m.clock,
    },
    spec,
    mode,
  )
}

/** Remove the checkpoints boot() wrote. */
export function cleanupBoots(): void {
  if (root) rmSync(root, { recursive: true, force: true })
  root = undefined
}
