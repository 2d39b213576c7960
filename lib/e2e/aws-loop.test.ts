// The AWS path end to end with real devices: the AWS provider talks to the EC2 simulator
// through real EC2Clients, and each attached "EBS volume" is a real loop device behind a fake
// /dev/disk/by-id tree and a fake sysfs serial, so mkfs and mount run for real. Real EC2 is
// not reachable from here.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LinuxHost } from '../hosts/linux/linux-host.js'
import { createLogger, setLogger } from '../log.js'
import { nitroByIdPath } from '../providers/aws/devices.js'
import { simProvider } from '../providers/aws/sim/connect.js'
import { Ec2Simulator } from '../providers/aws/sim/ec2-sim.js'
import { LoopDevices } from '../providers/aws/sim/loop-devices.js'
import { Tag } from '../providers/provider.js'
import { type RunResult, reconcile } from '../run.js'
import type { ResolvedSpec } from '../spec/types.js'
import { checksum, linuxTools, mountInfo, requireTools } from '../testing/real.js'
import { volumeSpec } from '../testing/world.js'

setLogger(createLogger('pretty', -999))
const test = suite('aws provider with real loop devices behind a fake by-id tree (EC2 simulator)')

interface Rig {
  dir: string
  sim: Ec2Simulator
  loops: LoopDevices
  spec: ResolvedSpec
  run(mode?: 'apply' | 'plan'): Promise<RunResult>
  cleanup(): void
}

function rig(fs: 'ext4' | 'xfs' = 'xfs', sizeGiB = 1): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'cps-aws-'))
  const sim = new Ec2Simulator()
  const loops = new LoopDevices(dir)
  const host = new LinuxHost({ roots: loops.roots })
  const provider = simProvider(sim, {
    instanceId: 'i-0e2e',
    zone: 'us-east-1a',
    host,
    hooks: loops.hooks(),
    roots: loops.roots,
  })
  const mnt = join(dir, 'mnt')
  const spec: ResolvedSpec = {
    source: 'test',
    state: join(dir, 'state.json'),
    provider: { kind: 'aws' },
    volumes: [
      volumeSpec({
        poolTags: { app: 'e2e' },
        sizeGiB,
        filesystem: { type: fs, format: 'if-created', label: 'awsdata', mkfsOptions: [] },
        mount: { path: mnt, options: ['noatime'] },
      }),
    ],
  }
  return {
    dir,
    sim,
    loops,
    spec,
    run: (mode = 'apply') =>
      reconcile(spec, { mode }, { createProvider: () => provider, createHost: () => host }),
    cleanup() {
      for (const t of execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
        .split('\n')
        .filter((t) => t.startsWith(dir))
        .reverse())
        execFileSync('umount', [t])
      loops.cleanup()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const mutations = (r: RunResult) =>
  r.volumes.flatMap((v) => v.changes.filter((c) => c.action !== 'none').map((c) => c.what))

test.before(() => requireTools(linuxTools))

test('create, attach (device appears behind by-id), mkfs, mount; rerun is a no-op; grow online', async () => {
  const r = rig('xfs')
  try {
    const first = await r.run()
    assert.is(first.exitCode, 0, JSON.stringify(first.volumes[0]?.error))
    const volumeId = first.volumes[0]?.volumeId as string
    const m = mountInfo(join(r.dir, 'mnt'))
    assert.is(m?.fstype, 'xfs')
    assert.is(m?.label, 'awsdata')
    assert.is(first.volumes[0]?.device, nitroByIdPath(r.loops.roots, volumeId))
    const tags = Object.fromEntries((r.sim.volume(volumeId)?.Tags ?? []).map((t) => [t.Key, t.Value]))
    assert.is(tags[Tag.fsUuid], m?.uuid)
    writeFileSync(join(r.dir, 'mnt', 'precious.txt'), 'on ebs')
    const plan = await r.run('plan')
    assert.equal(mutations(plan), [])
    const calls = r.sim.calls.length
    const again = await r.run()
    assert.equal(mutations(again), [])
    assert.equal(
      r.sim.calls
        .slice(calls)
        .map((c) => c.command)
        .filter((c) => !c.startsWith('Describe')),
      [],
    )
    r.spec.volumes[0] = { ...(r.spec.volumes[0] as ResolvedSpec['volumes'][0]), sizeGiB: 2 }
    const grown = await r.run()
    assert.is(grown.exitCode, 0, JSON.stringify(grown.volumes[0]?.error))
    assert.ok(
      mutations(grown).some((c) => /grow xfs .* online/.test(c)),
      mutations(grown).join('\n'),
    )
    const size = Number(
      execFileSync('df', ['-B1', '--output=size', join(r.dir, 'mnt')], { encoding: 'utf8' }).split('\n')[1],
    )
    assert.ok(size > 1.5 * 1024 ** 3, `filesystem is ${size} bytes`)
    assert.is(readFileSync(join(r.dir, 'mnt', 'precious.txt'), 'utf8'), 'on ebs')
  } finally {
    r.cleanup()
  }
})

test("a stale by-id link pointing at another volume's device is refused; nothing is written", async () => {
  const r = rig('ext4')
  try {
    // Another volume, already attached here with data; then our volume's link points at it.
    const first = await r.run()
    assert.is(first.exitCode, 0)
    const other = first.volumes[0]?.volumeId as string
    execFileSync('umount', [join(r.dir, 'mnt')])
    const mine = r.sim.addVolume({
      az: 'us-east-1a',
      size: 1,
      tags: { app: 'mine', [Tag.formatToken]: 'birth' },
    })
    r.spec.volumes[0] = {
      ...(r.spec.volumes[0] as ResolvedSpec['volumes'][0]),
      name: 'mine',
      poolTags: { app: 'mine' },
    }
    const link = nitroByIdPath(r.loops.roots, mine)
    symlinkSync(r.loops.loops.get(other) as string, link)
    const before = checksum(r.loops.image(other))
    const res = await r.run()
    assert.is(res.exitCode, 3)
    assert.match(
      res.volumes[0]?.error?.message ?? '',
      new RegExp(
        `has serial ${other.replace('-', '')}, not ${mine.replace('-', '')} of volume ${mine}; refusing to touch it`,
      ),
    )
    assert.is(checksum(r.loops.image(other)), before)
    unlinkSync(link)
  } finally {
    r.cleanup()
  }
})

test('a volume whose cps:fs-uuid does not match the device is refused, never formatted or mounted', async () => {
  const r = rig('ext4')
  try {
    const first = await r.run()
    assert.is(first.exitCode, 0)
    const id = first.volumes[0]?.volumeId as string
    execFileSync('umount', [join(r.dir, 'mnt')])
    r.sim.createTags({
      Resources: [id],
      Tags: [{ Key: Tag.fsUuid, Value: '00000000-0000-4000-8000-000000000000' }],
    })
    const before = checksum(r.loops.image(id))
    const res = await r.run()
    assert.is(res.exitCode, 3)
    assert.match(
      res.volumes[0]?.error?.message ?? '',
      /tagged cps:fs-uuid=00000000-0000-4000-8000-000000000000 but the device shows ext4/,
    )
    assert.is(mountInfo(join(r.dir, 'mnt')), undefined)
    assert.is(checksum(r.loops.image(id)), before)
  } finally {
    r.cleanup()
  }
})

test.run()
