import type { Ec2Simulator } from '../providers/aws/sim/ec2-sim.js'

const OPS = ['DescribeInstances', 'DescribeVolumes', 'AttachVolume', 'CreateVolume', 'CreateTags']

/**
 * Where a fleet's EC2 calls went over time: per bin of `binSeconds`, the accepted and the
 * throttled calls of each operation the fleet used (a Markdown table).
 */
export function renderTimeline(sim: Pick<Ec2Simulator, 'calls'>, startMs: number, binSeconds = 10): string {
  const used = OPS.filter((op) => sim.calls.some((c) => c.command === op))
  const bins: Map<string, number>[] = []
  for (const c of sim.calls) {
    const b = Math.floor((c.at - startMs) / 1000 / binSeconds)
    bins[b] ??= new Map()
    const key = `${c.command}${c.throttled ? ' throttled' : ''}`
    bins[b].set(key, (bins[b].get(key) ?? 0) + 1)
  }
  const head = ['t (s)', ...used.flatMap((op) => [op, 'throttled'])]
  const rows = [...bins.keys()].map((b) => [
    String(b * binSeconds),
    ...used.flatMap((op) => [String(bins[b]?.get(op) ?? 0), String(bins[b]?.get(`${op} throttled`) ?? 0)]),
  ])
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return `${[line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')}\n`
}
