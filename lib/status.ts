import { renderHuman } from './plan/render.js'
import { type RunDeps, type RunResult, reconcile } from './run.js'
import type { ResolvedSpec } from './spec/types.js'
import { readCheckpoint, type VolumeFacts } from './state/checkpoint.js'

export interface StatusResult {
  text: string
  data: { state: string; checkpoint: Record<string, VolumeFacts>; live?: RunResult }
  exitCode: number
}

function describeFacts(f: VolumeFacts): string {
  const parts = [
    f.volumeId && `volume ${f.volumeId}`,
    f.device && `device ${f.device}`,
    f.fsUuid && `filesystem ${f.fsUuid}`,
    f.claimId && `claim in progress (${f.claimId})`,
    f.mkfsStarted && `mkfs started ${f.mkfsStarted.at} (UUID ${f.mkfsStarted.uuid})`,
    f.updatedAt && `updated ${f.updatedAt}`,
  ]
  return parts.filter(Boolean).join(', ')
}

/** The checkpoint's facts and, given a spec, what is live (a read-only plan). */
export async function status(
  opts: { spec?: ResolvedSpec; statePath: string },
  deps: RunDeps = {},
): Promise<StatusResult> {
  const cp = await readCheckpoint(opts.statePath, { readOnly: true })
  const lines = [`Checkpoint ${opts.statePath}`]
  const names = Object.keys(cp.volumes)
  if (!names.length) lines.push('  (no facts recorded yet)')
  for (const name of names) lines.push(`  ${name}: ${describeFacts(cp.volumes[name] as VolumeFacts)}`)
  let live: RunResult | undefined
  if (opts.spec) {
    live = await reconcile(opts.spec, { mode: 'plan' }, deps)
    lines.push(
      '',
      `Live (${opts.spec.source}${live.instanceId ? `, instance ${live.instanceId}` : ''}):`,
      renderHuman(live).trimEnd(),
    )
  }
  return {
    text: `${lines.join('\n')}\n`,
    data: { state: opts.statePath, checkpoint: cp.volumes, live },
    exitCode: live?.exitCode ?? 0,
  }
}
