import type { FleetResult } from './fleet.js'

const fmt = (n: number, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits))

/** The benchmark results as a Markdown table (it is pasted into the README as is). */
export function renderTable(results: FleetResult[]): string {
  const head = [
    'machines',
    'pool',
    'claim',
    'all mounted (s)',
    'floor (s)',
    'ratio',
    'Attach/m',
    'DescribeVol/m',
    'CreateTags/m',
    'throttled',
    'retries',
    'faults',
    'crashes',
    'double claims',
    'failed',
  ]
  const rows = results.map((r) => [
    String(r.machines),
    r.pool,
    r.claim,
    r.seconds.toFixed(1),
    r.floorSeconds.toFixed(0),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    fmt(r.callsPerMachine.AttachVolume ?? 0),
    fmt(r.callsPerMachine.DescribeVolumes ?? 0),
    fmt(r.callsPerMachine.CreateTags ?? 0),
    String(Object.values(r.throttled).reduce((a, b) => a + b, 0)),
    String(r.retries),
    String(Object.values(r.injected).reduce((a, b) => a + b, 0)),
    String(r.crashes),
    String(r.doubleClaims + r.extraAttachments + r.createdTwice),
    String(r.failures),
  ])
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return `${[line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')}\n`
}
