// Refusals, for real: devices that are not provably blank, unreadable or not who they claim
// to be are refused with a clear error, and nothing is written to them.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalProvider } from '../providers/local/local-provider.js'
import { Tag } from '../providers/provider.js'
import {
  type CpsRun,
  checksum,
  linuxTools,
  mountInfo,
  requireTools,
  type Sandbox,
  withSandbox,
} from '../testing/real.js'

const test = suite('refusals on real loop devices')

const spec = (sb: Sandbox, pool = 'refuse') => [
  '--name',
  'data',
  '--tag',
  `app=${pool}`,
  '--size',
  '1',
  '--fs',
  'ext4',
  '--mount',
  sb.mountPath(),
]

/** A pool volume put into the local catalog directly (as another tool or an earlier run would). */
async function poolVolume(
  sb: Sandbox,
  withToken: boolean,
  pool = 'refuse',
): Promise<{ id: string; image: string }> {
  const provider = new LocalProvider({ dir: sb.localDir, instanceId: 'someone-else' })
  const tags: Record<string, string> = { app: pool, ...(withToken && { [Tag.formatToken]: 'from-birth' }) }
  const vol = await provider.createVolume({ sizeGiB: 1, tags, clientToken: `${pool}-${withToken}` })
  return { id: vol.id, image: sb.image(vol.id) }
}

function refused(r: CpsRun, code: number, re: RegExp): void {
  assert.is(r.code, code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stdout + r.stderr, re)
}

test.before(() => requireTools({ ...linuxTools, sfdisk: 'fdisk' }))

test('a cps-created volume that holds a filesystem is refused; the image is unchanged', async () => {
  await withSandbox(async (sb) => {
    const { id, image } = await poolVolume(sb, true)
    execFileSync('mkfs.xfs', ['-q', image])
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)])
    refused(
      r,
      3,
      new RegExp(`volume ${id} \\(/dev/loop\\d+\\): was created by cps and should be blank, but holds xfs`),
    )
    assert.match(r.stdout, /hint: something wrote to this volume outside cps/)
    assert.is(checksum(image), before)
    assert.is(mountInfo(sb.mountPath()), undefined)
    assert.is(Object.keys(sb.catalog().volumes).length, 1)
  })
})

test('a pool volume holding a foreign filesystem of another type is refused, not reformatted', async () => {
  await withSandbox(async (sb) => {
    const { image } = await poolVolume(sb, false)
    execFileSync('mkfs.btrfs', ['-q', image])
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)])
    refused(r, 3, /holds btrfs, UUID [0-9a-f-]+ but the spec says ext4/)
    assert.is(checksum(image), before)
  })
})

test('a GPT disk whose first MiB was zeroed (blkid sees nothing) is refused', async () => {
  await withSandbox(async (sb) => {
    const { image } = await poolVolume(sb, true)
    execFileSync('sfdisk', ['-q', image], { input: 'label: gpt\n,10M\n' })
    execFileSync('dd', ['if=/dev/zero', `of=${image}`, 'bs=1M', 'count=1', 'conv=notrunc', 'status=none'])
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)])
    refused(r, 3, /gpt partition table; cps does not format partitioned disks/)
    assert.is(checksum(image), before)
  })
})

test('a blank volume cps did not create is refused under format: if-created', async () => {
  await withSandbox(async (sb) => {
    const { image } = await poolVolume(sb, false)
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)])
    refused(r, 3, /looks blank but carries no cps:format-token tag/)
    assert.match(r.stdout, /--format if-blank/)
    assert.is(checksum(image), before)
    // With if-blank, the same volume (all zeros) is formatted.
    const ok = await sb.cps(['apply', ...spec(sb), '--format', 'if-blank'])
    assert.is(ok.code, 0, ok.stdout + ok.stderr)
    assert.is(mountInfo(sb.mountPath())?.fstype, 'ext4')
  })
})

test('an unreadable device (blkid and wipefs both say "nothing") is never formatted', async () => {
  await withSandbox(async (sb) => {
    const { id, image } = await poolVolume(sb, true)
    const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim()
    // The dev tree cps looks in has a node with the loop's name but a minor no device answers:
    // opening it fails with ENXIO, and blkid exits 2 and wipefs lists nothing, as for a blank disk.
    let minor = 200
    while (existsSync(`/sys/dev/block/7:${minor}`)) minor++
    const devDir = join(sb.dir, 'dev')
    mkdirSync(devDir)
    execFileSync('mknod', [join(devDir, loop.replace('/dev/', '')), 'b', '7', String(minor)])
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)], { CPS_DEV_DIR: devDir })
    refused(r, 6, new RegExp(`cannot read the first and last MiB of ${devDir}/loop\\d+`))
    assert.match(r.stdout, /an unreadable device is never formatted/)
    assert.is(checksum(image), before)
    assert.is(sb.catalog().volumes[id]?.tags[Tag.formatToken], 'from-birth')
  })
})

test("a stale device link (pointing at another volume's loop device) is refused", async () => {
  await withSandbox(async (sb) => {
    const mine = await poolVolume(sb, true)
    const other = await poolVolume(sb, true, 'other')
    const myLoop = execFileSync('losetup', ['--find', '--show', mine.image], { encoding: 'utf8' }).trim()
    const otherLoop = execFileSync('losetup', ['--find', '--show', other.image], { encoding: 'utf8' }).trim()
    const devDir = join(sb.dir, 'dev')
    mkdirSync(devDir)
    symlinkSync(otherLoop, join(devDir, myLoop.replace('/dev/', '')))
    const before = [checksum(mine.image), checksum(other.image)]
    const r = await sb.cps(['apply', ...spec(sb)], { CPS_DEV_DIR: devDir })
    refused(r, 3, new RegExp(`\\(${otherLoop}\\) is backed by ${other.image}, not by volume ${mine.id}`))
    assert.equal([checksum(mine.image), checksum(other.image)], before)
  })
})

test('a volume tagged as formatted whose device reads blank is an error, never a format', async () => {
  await withSandbox(async (sb) => {
    const { id, image } = await poolVolume(sb, false)
    await new LocalProvider({ dir: sb.localDir }).setTags(id, {
      [Tag.fsUuid]: '6a1c1b5e-8f0e-4a53-9d7c-000000000000',
    })
    const before = checksum(image)
    const r = await sb.cps(['apply', ...spec(sb)])
    refused(r, 3, /tagged cps:fs-uuid=6a1c1b5e-8f0e-4a53-9d7c-000000000000 but the device looks blank/)
    assert.is(checksum(image), before)
  })
})

test('mkfs failing on a bad option: exit 6 with a hint; fixed spec converges (mkfs redone)', async () => {
  await withSandbox(async (sb) => {
    const r = await sb.cps(['apply', ...spec(sb), '--mkfs-option=-O', '--mkfs-option=no_such_feature'])
    refused(r, 6, /volume vol-\w+ \(\/dev\/loop\d+\): mkfs.ext4 .* exited 1/)
    assert.match(r.stdout, /hint: the volume keeps its started token, so the next run redoes mkfs/)
    const vol = Object.values(sb.catalog().volumes)[0]
    assert.match(vol?.tags[Tag.formatToken] ?? '', /^started:/)
    const ok = await sb.cps(['apply', ...spec(sb)])
    assert.is(ok.code, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /redo interrupted mkfs ext4/)
    assert.is(mountInfo(sb.mountPath())?.fstype, 'ext4')
  })
})

test.run()
