import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { merge, reconcileVolume } from '../../machines/reconcile.js'

export { startContext } from '../../machines/reconcile.js'

import { FakeHost } from '../hosts/fake/fake-host.js'
import { createLogger } from '../log.js'
import { FakeProvider } from '../providers/fake/fake-provider.js'
import type { ResolvedVolume } from '../spec/types.js'
import { CheckpointStore } from '../state/checkpoint.js'
import type { ReconcileContext, Step, StepDeps } from '../steps/context.js'

/** A volume spec for tests, with overrides. */
export function volumeSpec(over: Partial<ResolvedVolume> = {}): ResolvedVolume {
  return {
    name: 'data',
    poolTags: { app: 'test' },
    sizeGiB: 1,
    createOptions: {},
    filesystem: { type: 'ext4', format: 'if-created', label: 'data', mkfsOptions: [] },
    mount: { path: '/mnt/data', options: ['noatime'] },
    resize: 'grow',
    claim: 'optimistic',
    consensus: { waitSeconds: 30, lockTimeoutSeconds: 180 },
    ...over,
  }
}

/** A fake cloud and host with a real checkpoint file in a temp dir. */
export interface World {
  host: FakeHost
  provider: FakeProvider
  checkpoint: CheckpointStore
  statePath: string
  deps: StepDeps
  cleanup(): void
}

export async function fakeWorld(opts: { instanceId?: string; readOnly?: boolean } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'cps-world-'))
  const host = new FakeHost()
  const provider = new FakeProvider(host, opts.instanceId)
  const statePath = join(dir, 'state.json')
  const checkpoint = await CheckpointStore.open(statePath, { readOnly: opts.readOnly })
  const log = createLogger('pretty', -999)
  let seed = 1
  const random = () => {
    seed = (seed * 16807) % 2147483647
    return seed / 2147483647
  }
  return {
    host,
    provider,
    checkpoint,
    statePath,
    deps: { provider, host, checkpoint, log, heldByOthers: new Set(), random },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** Run one step and merge its output, as the machine would. */
export async function runStep(step: Step, ctx: ReconcileContext, deps: StepDeps): Promise<ReconcileContext> {
  return { ...merge(ctx, 'discover', { ...(await step(ctx, deps)), ms: 0 }), timings: ctx.timings }
}

/** Run the whole machine to its final state. */
export function runMachine(
  world: World,
  spec: ResolvedVolume,
  mode: 'apply' | 'plan' = 'apply',
): Promise<ReconcileContext> {
  return reconcileVolume(world.deps, spec, mode)
}
