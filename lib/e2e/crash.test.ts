// Crash convergence, for real: SIGKILL `cps apply` (and its mkfs child: the whole process
// group, like a power cut) at each step boundary and during mkfs; the rerun must converge with
// data intact, one volume per claim, and no second mkfs on a volume that was formatted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  type CpsRun,
  linuxTools,
  mountInfo,
  requireTools,
  type Sandbox,
  withSandbox,
  writeData,
} from '../testing/real.js'

const test = suite('crash convergence (SIGKILL at every step boundary, real loop devices)')

const spec = (sb: Sandbox, fs: string, size = 1) => [
  '--name',
  'data',
  '--tag',
  'app=crash',
  '--size',
  String(size),
  '--fs',
  fs,
  '--mount',
  sb.mountPath(),
  '--mount-option',
  'noatime',
  '--json',
]

function formatCreates(r: CpsRun): string[] {
  return (r.json?.volumes[0]?.changes ?? [])
    .filter((c) => c.step === 'format' && /mkfs/.test(c.what))
    .map((c) => c.what)
}

/** Kill at `point`, rerun, and check the invariants. Returns the rerun. */
async function crashAndRerun(sb: Sandbox, args: string[], point: string): Promise<CpsRun> {
  const crashed = await sb.cps(['apply', ...args], { CPS_FAILPOINT: point })
  assert.is(
    crashed.signal,
    'SIGKILL',
    `${point}: the run was not killed (exit ${crashed.code})\n${crashed.stderr}`,
  )
  const taggedBefore = (() => {
    try {
      return Object.values(sb.catalog().volumes).some((v) => v.tags['cps:fs-uuid'])
    } catch {
      return false
    }
  })()
  const rerun = await sb.cps(['apply', ...args])
  assert.is(rerun.code, 0, `${point}: rerun exited ${rerun.code}\n${rerun.stdout}\n${rerun.stderr}`)
  const vols = Object.values(sb.catalog().volumes)
  assert.is(vols.length, 1, `${point}: ${vols.length} volumes for one claim`)
  const m = mountInfo(sb.mountPath())
  assert.ok(m, `${point}: not mounted after the rerun`)
  assert.is(
    vols[0]?.tags['cps:fs-uuid'],
    m?.uuid,
    `${point}: fs-uuid tag does not match the mounted filesystem`,
  )
  assert.is(vols[0]?.tags['cps:format-token'], undefined)
  if (taggedBefore) assert.equal(formatCreates(rerun), [], `${point}: mkfs ran again on a formatted volume`)
  const again = await sb.cps(['plan', ...args.filter((a) => a !== '--json'), '--detailed-exitcode'])
  assert.is(again.code, 0, `${point}: not converged after the rerun\n${again.stdout}`)
  return rerun
}

test.before(() => requireTools(linuxTools))

const freshPoints = [
  'after-discover',
  'after-create',
  'after-claim',
  'after-attach',
  'mkfs-start',
  'mkfs:15',
  'mkfs:60',
  'after-mkfs',
  'after-format',
  'after-resize',
  'before-mount',
  'after-mount',
]

for (const point of freshPoints) {
  test(`fresh ext4 volume, killed at ${point}: rerun converges`, async () => {
    await withSandbox(async (sb) => {
      const rerun = await crashAndRerun(sb, spec(sb, 'ext4'), point)
      // Before mkfs began, the rerun makes the filesystem; after it finished, it never does.
      const made = formatCreates(rerun)
      if (['after-format', 'after-resize', 'before-mount', 'after-mount'].includes(point))
        assert.equal(made, [])
      if (['after-discover', 'after-create', 'after-claim', 'after-attach'].includes(point))
        assert.is(made.length, 1)
    })
  })
}

for (const fs of ['xfs', 'btrfs']) {
  test(`fresh ${fs} volume, killed during mkfs: rerun redoes it over the partial signature`, async () => {
    await withSandbox(async (sb) => {
      await crashAndRerun(sb, spec(sb, fs), 'mkfs:20')
    })
  })
}

for (const point of ['after-discover', 'before-resize', 'after-resize', 'before-mount']) {
  test(`growing a volume with data, killed at ${point} after a reboot: data intact, no mkfs`, async () => {
    await withSandbox(async (sb) => {
      const first = await sb.cps(['apply', ...spec(sb, 'ext4', 1)])
      assert.is(first.code, 0, first.stderr)
      writeData(sb.mountPath(), 'survives crashes')
      const uuid = mountInfo(sb.mountPath())?.uuid
      sb.reboot()
      const rerun = await crashAndRerun(sb, spec(sb, 'ext4', 2), point)
      assert.equal(formatCreates(rerun), [])
      assert.is(mountInfo(sb.mountPath())?.uuid, uuid)
      assert.is(readFileSync(join(sb.mountPath(), 'precious.txt'), 'utf8'), 'survives crashes')
      assert.is(Object.values(sb.catalog().volumes)[0]?.sizeGiB, 2)
    })
  })
}

test.run()
