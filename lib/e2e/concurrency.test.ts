// Two cps runs at once, for real: on one host the lock serialises them; two "instances"
// (CPS_INSTANCE_ID) sharing one local pool each claim a different volume.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalProvider } from '../providers/local/local-provider.js'
import { Tag } from '../providers/provider.js'
import { linuxTools, mountInfo, requireTools, withSandbox } from '../testing/real.js'

const test = suite('concurrent runs (real loop devices)')

test.before(() => requireTools(linuxTools))

test('two applies on one host: the second waits for the lock, both converge on one volume', async () => {
  await withSandbox(async (sb) => {
    const args = [
      'apply',
      '--name',
      'data',
      '--tag',
      'app=lock',
      '--size',
      '1',
      '--mount',
      sb.mountPath(),
      '--json',
    ]
    const [a, b] = await Promise.all([sb.cps(args), sb.cps(args)])
    assert.is(a.code, 0, a.stderr)
    assert.is(b.code, 0, b.stderr)
    assert.match(
      a.stderr + b.stderr,
      /waiting for the host lock .*state\.json\.lock, held by pid \d+ \(cps apply/,
    )
    assert.is(Object.keys(sb.catalog().volumes).length, 1)
    const made = [a, b].flatMap(
      (r) => r.json?.volumes[0]?.changes.filter((c) => c.step === 'format' && c.action === 'create') ?? [],
    )
    assert.is(made.length, 1)
    assert.ok(mountInfo(sb.mountPath()))
  })
})

test('a lock held longer than --lock-timeout fails with exit 4 and names the holder', async () => {
  await withSandbox(async (sb) => {
    const args = ['--name', 'data', '--tag', 'app=lock', '--size', '1', '--mount', sb.mountPath()]
    // Hold the lock in this process, as a long-running apply would.
    const { acquireLock } = await import('../state/lock.js')
    const held = await acquireLock(`${sb.state}.lock`, { what: 'cps apply' })
    const r = await sb.cps(['apply', ...args, '--lock-timeout', '1'])
    await held.release()
    assert.is(r.code, 4, r.stderr)
    assert.match(r.stderr, new RegExp(`another cps run holds the lock .* pid ${process.pid} \\(cps apply`))
  })
})

test("two instances sharing one pool claim different volumes; neither takes the other's", async () => {
  await withSandbox(async (sb) => {
    const provider = new LocalProvider({ dir: sb.localDir, instanceId: 'setup' })
    for (const t of ['one', 'two'])
      await provider.createVolume({
        sizeGiB: 1,
        tags: { app: 'shared', [Tag.formatToken]: t },
        clientToken: t,
      })
    const run = (id: string) =>
      sb.cps(
        [
          'apply',
          '--name',
          'data',
          '--tag',
          'app=shared',
          '--mount',
          sb.mountPath(id),
          '--state',
          join(sb.dir, `${id}.json`),
          '--json',
        ],
        { CPS_INSTANCE_ID: id },
      )
    const [a, b] = await Promise.all([run('i-a'), run('i-b')])
    assert.is(a.code, 0, a.stdout + a.stderr)
    assert.is(b.code, 0, b.stdout + b.stderr)
    const va = a.json?.volumes[0]?.volumeId
    const vb = b.json?.volumes[0]?.volumeId
    assert.ok(va && vb && va !== vb, `${va} ${vb}`)
    const cat = sb.catalog().volumes
    assert.is(Object.keys(cat).length, 2)
    assert.equal(
      [cat[va as string]?.tags, cat[vb as string]?.tags].map((t) => !!t?.[Tag.fsUuid]),
      [true, true],
    )
    // A third instance finds the pool empty and, with no --size, fails clearly instead of stealing.
    const c = await run('i-c')
    assert.is(c.code, 5)
    assert.match(c.stdout, /pool app=shared has no available volume for data/)
    assert.match(readFileSync(join(sb.localDir, 'catalog.json'), 'utf8'), /"attachedTo": "i-a"/)
  })
})

test.run()
