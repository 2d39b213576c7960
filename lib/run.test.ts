import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { FakeHost } from './hosts/fake/fake-host.js'
import { createLogger, setLogger } from './log.js'
import { FakeProvider } from './providers/fake/fake-provider.js'
import { reconcile } from './run.js'
import type { ResolvedSpec } from './spec/types.js'
import { volumeSpec } from './testing/world.js'

setLogger(createLogger('pretty', -999))

const test = suite('reconcile of a whole spec (fakes)')

test('volumes are reconciled independently: one failing does not stop the others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cps-run-'))
  const host = new FakeHost()
  const provider = new FakeProvider(host)
  // "bad" has an empty pool and no create size: it fails; "good" and "also" still converge.
  const spec: ResolvedSpec = {
    source: 'test',
    state: join(dir, 'state.json'),
    provider: { kind: 'local', dir },
    volumes: [
      volumeSpec({ name: 'good', poolTags: { app: 'a' }, mount: { path: '/a', options: [] } }),
      volumeSpec({
        name: 'bad',
        poolTags: { app: 'b' },
        sizeGiB: undefined,
        mount: { path: '/b', options: [] },
      }),
      volumeSpec({ name: 'also', poolTags: { app: 'a' }, mount: { path: '/c', options: [] } }),
    ],
  }
  const r = await reconcile(
    spec,
    { mode: 'apply' },
    { createProvider: () => provider, createHost: () => host },
  )
  assert.equal(
    r.volumes.map((v) => [v.name, !!v.error]),
    [
      ['good', false],
      ['bad', true],
      ['also', false],
    ],
  )
  assert.is(r.exitCode, 5)
  assert.match(r.volumes[1]?.error?.message ?? '', /pool app=b has no available volume for bad/)
  // Two volumes of one pool on one host: each gets its own.
  assert.is.not(r.volumes[0]?.volumeId, r.volumes[2]?.volumeId)
  assert.ok(host.mounts.has('/a') && host.mounts.has('/c') && !host.mounts.has('/b'))
  // A rerun keeps each volume with its own name (the checkpoint decides, not the order).
  const again = await reconcile(
    spec,
    { mode: 'apply' },
    { createProvider: () => provider, createHost: () => host },
  )
  assert.equal(
    again.volumes.map((v) => v.volumeId),
    r.volumes.map((v) => v.volumeId),
  )
  rmSync(dir, { recursive: true, force: true })
})

test.run()
