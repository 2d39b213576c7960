import type { RunResult } from '../run.js'
import { type Action, type Change, countChanges } from './change.js'

const symbol: Record<Action, string> = { create: '+', update: '~', none: '=' }
const legendText: Record<Action, string> = { create: '+ create', update: '~ change', none: '= already so' }

function legend(changes: Change[]): string {
  const present = (['create', 'update', 'none'] as Action[]).filter((a) =>
    changes.some((c) => c.action === a),
  )
  return present.length ? `Symbols: ${present.map((a) => legendText[a]).join('   ')}` : ''
}

/**
 * The human view of a plan or an apply, like Terraform's: a legend of the symbols present,
 * one block per volume with `  + `, `  ~ `, `  = ` lines, then a summary line.
 */
export function renderHuman(result: RunResult): string {
  const all = result.volumes.flatMap((v) => v.changes)
  const lines: string[] = []
  const head = legend(all)
  if (head) lines.push(head, '')
  for (const v of result.volumes) {
    const where = [v.volumeId, v.device].filter(Boolean).join(', ')
    lines.push(`  # volume "${v.name}"${where ? ` (${where})` : ''}`)
    for (const c of v.changes) lines.push(`  ${symbol[c.action]} ${c.what}`)
    for (const w of v.warnings) lines.push(`  ! warning: ${w}`)
    if (v.error) {
      lines.push(`  ! error: ${v.error.message.split('\n').join('\n           ')}`)
      if (v.error.hint) lines.push(`    hint: ${v.error.hint}`)
    }
    lines.push('')
  }
  const { add, change } = countChanges(all)
  const failed = result.volumes.filter((v) => v.error).length
  const n = result.volumes.length
  const vols = `${n} volume${n === 1 ? '' : 's'}`
  if (result.mode === 'plan') {
    if (add + change === 0 && !failed) lines.push(`No changes. ${vols} up to date.`)
    else
      lines.push(
        `Plan: ${add} to add, ${change} to change, 0 to destroy.${failed ? ` ${failed} of ${vols} could not be planned.` : ''}`,
      )
  } else if (failed) {
    lines.push(`Apply failed for ${failed} of ${vols}: ${add} added, ${change} changed before the failure.`)
  } else {
    lines.push(
      add + change === 0
        ? `No changes. ${vols} up to date.`
        : `Apply complete! ${add} added, ${change} changed, 0 destroyed.`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** The JSON view of the same result object. */
export function renderJson(result: RunResult): string {
  const { add, change } = countChanges(result.volumes.flatMap((v) => v.changes))
  return `${JSON.stringify({ ...result, summary: { add, change, destroy: 0 } }, null, 2)}\n`
}
