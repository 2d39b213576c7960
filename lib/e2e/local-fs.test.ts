// Real end to end, as root: the built CLI on the local provider, with loop devices and real
// mkfs / mount / resize for ext4, xfs and btrfs.
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type CpsRun, linuxTools, mountInfo, requireTools, Sandbox, writeData } from '../testing/real.js'

const GiB = 1024 ** 3

function ok(r: CpsRun, what: string): void {
  assert.is(r.code, 0, `${what} exited ${r.code}/${r.signal}\n${r.stdout}\n${r.stderr}`)
}

function mutations(r: CpsRun): string[] {
  return (r.json?.volumes ?? []).flatMap((v) =>
    v.changes.filter((c) => c.action !== 'none').map((c) => `${c.step}: ${c.what}`),
  )
}

for (const fs of ['ext4', 'xfs', 'btrfs'] as const) {
  const test = suite(`local provider, real ${fs} on loop devices`)
  let sb: Sandbox
  let args: string[]
  const spec = (size: number, options = ['noatime']) => [
    '--name',
    'data',
    '--tag',
    'app=e2e',
    '--size',
    String(size),
    '--fs',
    fs,
    '--label',
    'cpsdata',
    '--mount',
    sb.mountPath(),
    ...options.flatMap((o) => ['--mount-option', o]),
    '--owner',
    '1234:2345',
    '--mode',
    '0750',
  ]

  test.before(() => {
    requireTools(linuxTools)
    sb = new Sandbox()
  })
  test.after(() => sb?.cleanup())

  test('fresh apply: created, formatted and mounted with fs, label, options, owner and mode', async () => {
    args = spec(1)
    const plan = await sb.cps(['plan', ...args, '--detailed-exitcode'])
    assert.is(plan.code, 2, plan.stdout + plan.stderr)
    assert.match(plan.stdout, /\+ create volume 1 GiB in pool app=e2e/)
    assert.match(plan.stdout, /Plan: 4 to add, 0 to change, 0 to destroy\./)
    const r = await sb.cps(['apply', ...args, '--json'])
    ok(r, 'apply')
    const m = mountInfo(sb.mountPath())
    assert.ok(m, 'not mounted')
    assert.is(m?.fstype, fs)
    assert.is(m?.label, 'cpsdata')
    assert.ok(m?.options.includes('noatime'), m?.options.join(','))
    const st = statSync(sb.mountPath())
    assert.is(st.uid, 1234)
    assert.is(st.gid, 2345)
    assert.is(st.mode & 0o7777, 0o750)
    const vol = Object.values(sb.catalog().volumes)[0]
    assert.is(vol?.tags['cps:fs-uuid'], m?.uuid)
    assert.is(vol?.tags['cps:format-token'], undefined)
    writeData(sb.mountPath(), `written on ${fs}`)
  })

  test('rerun: plan reports no changes and apply performs no mutating action', async () => {
    const plan = await sb.cps(['plan', ...args, '--detailed-exitcode'])
    assert.is(plan.code, 0, plan.stdout + plan.stderr)
    assert.match(plan.stdout, /No changes\. 1 volume up to date\./)
    const catalogBefore = readFileSync(join(sb.localDir, 'catalog.json'), 'utf8')
    const r = await sb.cps(['apply', ...args, '--json'])
    ok(r, 'apply')
    assert.equal(mutations(r), [])
    assert.is(readFileSync(join(sb.localDir, 'catalog.json'), 'utf8'), catalogBefore)
  })

  test('raise the size: plan shows the grow; apply grows volume and filesystem; data intact', async () => {
    args = spec(2)
    const plan = await sb.cps(['plan', ...args, '--detailed-exitcode'])
    assert.is(plan.code, 2)
    assert.match(plan.stdout, /~ grow volume vol-\w+ from 1 to 2 GiB/)
    if (fs === 'ext4') {
      // ext4 grows offline before mount, as on a normal boot (this kernel also refuses online
      // resize2fs): apply after a reboot.
      sb.reboot()
    }
    const r = await sb.cps(['apply', ...args, '--json'])
    ok(r, 'apply')
    const changes = mutations(r)
    assert.ok(
      changes.some((c) => /grow volume vol-\w+ from 1 to 2 GiB/.test(c)),
      changes.join('\n'),
    )
    assert.ok(
      changes.some((c) =>
        (fs === 'ext4' ? /grow ext4 .* offline/ : new RegExp(`grow ${fs} at .* online`)).test(c),
      ),
      changes.join('\n'),
    )
    const size = Number(
      execFileSync('df', ['-B1', '--output=size', sb.mountPath()], { encoding: 'utf8' }).split('\n')[1],
    )
    assert.ok(size > 1.5 * GiB, `filesystem is ${size} bytes`)
    assert.is(readFileSync(join(sb.mountPath(), 'precious.txt'), 'utf8'), `written on ${fs}`)
    const again = await sb.cps(['plan', ...args, '--detailed-exitcode'])
    assert.is(again.code, 0, again.stdout)
  })

  test('a smaller size is a warning and no action', async () => {
    const r = await sb.cps(['apply', ...spec(1), '--json'])
    ok(r, 'apply')
    assert.equal(mutations(r), [])
    assert.match(r.json?.volumes[0]?.warnings[0] ?? '', /smaller than volume .* never shrinks/)
    assert.is(Object.values(sb.catalog().volumes)[0]?.sizeGiB, 2)
  })

  test('changed mount options are applied with a remount', async () => {
    args = spec(2, ['noatime', 'nodev', 'nosuid'])
    const plan = await sb.cps(['plan', ...args])
    assert.match(plan.stdout, /~ remount .* with nodev,nosuid/)
    const r = await sb.cps(['apply', ...args, '--json'])
    ok(r, 'apply')
    assert.equal(mutations(r), [`mount: remount ${sb.mountPath()} with nodev,nosuid`])
    const opts = mountInfo(sb.mountPath())?.options ?? []
    assert.ok(opts.includes('nodev') && opts.includes('nosuid') && opts.includes('noatime'), opts.join(','))
  })

  test('after a reboot: re-attached and re-mounted, same filesystem, data intact, no mkfs', async () => {
    const uuid = mountInfo(sb.mountPath())?.uuid
    sb.reboot()
    assert.is(mountInfo(sb.mountPath()), undefined)
    const r = await sb.cps(['apply', ...args, '--json'])
    ok(r, 'apply')
    const changes = mutations(r)
    assert.ok(!changes.some((c) => c.startsWith('format')), changes.join('\n'))
    assert.ok(changes.some((c) => c.startsWith('attach')))
    assert.is(mountInfo(sb.mountPath())?.uuid, uuid)
    assert.is(readFileSync(join(sb.mountPath(), 'precious.txt'), 'utf8'), `written on ${fs}`)
    assert.is(Object.keys(sb.catalog().volumes).length, 1)
  })

  test('--log-format json: one JSON object per line on stderr, a line per step with its duration', async () => {
    const r = await sb.cps(['apply', ...args, '--log-format', 'json'])
    ok(r, 'apply')
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(
      lines.map((l) => [l.volume, l.step, typeof l.ms]),
      ['discover', 'claim', 'attach', 'format', 'resize', 'mount'].map((s) => ['data', s, 'number']),
    )
  })

  test('status shows the checkpoint and the live view', async () => {
    const r = await sb.cps(['status', ...args])
    ok(r, 'status')
    assert.match(r.stdout, /data: volume vol-\w+, device \/dev\/loop\d+, filesystem [0-9a-f-]+/)
    assert.match(r.stdout, /No changes\. 1 volume up to date\./)
  })

  test.run()
}
