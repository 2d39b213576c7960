import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createCli } from '../cli.js'
import { packageRoot } from '../paths.js'
import { loadSpec, SpecError } from './load.js'

const test = suite('spec loading')
const invalidDir = join(packageRoot, 'fixtures', 'specs', 'invalid')
const validDir = join(packageRoot, 'fixtures', 'specs', 'valid')

async function firstError(opts: Parameters<typeof loadSpec>[0]): Promise<string> {
  try {
    await loadSpec(opts)
  } catch (err) {
    assert.instance(err, SpecError)
    return (err as Error).message.split('\n')[0] as string
  }
  assert.unreachable('expected a SpecError')
  return ''
}

const invalid = readdirSync(invalidDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

test('the invalid corpus has at least 30 specs', () => {
  assert.ok(invalid.length >= 30, `only ${invalid.length}`)
})

for (const name of invalid) {
  test(`invalid/${name}: exact location and message`, async () => {
    const file = join(invalidDir, name)
    const expect = /^# expect: (.*)$/m.exec(readFileSync(file, 'utf8'))?.[1]
    assert.ok(expect, `${name} has no "# expect:" line`)
    assert.is(await firstError({ file }), expect?.replace('{file}', file))
  })
}

test('every invalid spec fails `cps apply` with exit 1 before any provider or host call', async () => {
  const touched: string[] = []
  const deps = {
    createProvider: () => {
      touched.push('provider')
      throw new Error('provider must not be created')
    },
    createHost: () => {
      touched.push('host')
      throw new Error('host must not be created')
    },
  }
  for (const name of invalid) {
    let printed = ''
    const { run } = createCli((t) => {
      printed += t
    }, deps)
    // No flags: a flag could override the very field that is wrong.
    const code = await run(['node', 'cps', 'apply', join(invalidDir, name), '--quiet'])
    assert.is(code, 1, name)
    assert.is(printed, '', name)
  }
  assert.equal(touched, [])
})

test('valid fixtures load, with defaults filled in', async () => {
  for (const name of readdirSync(validDir).filter((f) => f.endsWith('.yaml'))) {
    const spec = await loadSpec({ file: join(validDir, name) })
    assert.ok(spec.volumes.length >= 1)
    for (const v of spec.volumes) {
      assert.ok(v.filesystem.type)
      assert.ok(['if-created', 'if-blank'].includes(v.filesystem.format))
      assert.ok(['grow', 'never'].includes(v.resize))
    }
  }
})

test('a spec by flags alone, with defaults', async () => {
  const spec = await loadSpec({
    flags: {
      name: ['data'],
      tag: ['app=kafka', 'env=prod'],
      size: ['10'],
      fs: ['xfs'],
      mount: ['/data'],
      mountOption: ['noatime', 'nodev'],
    },
  })
  assert.equal(spec.volumes[0], {
    name: 'data',
    poolTags: { app: 'kafka', env: 'prod' },
    sizeGiB: 10,
    createOptions: {
      type: undefined,
      iops: undefined,
      throughputMiBps: undefined,
      encrypted: undefined,
      kmsKeyId: undefined,
      snapshot: undefined,
    },
    filesystem: { type: 'xfs', format: 'if-created', label: undefined, mkfsOptions: [] },
    mount: { path: '/data', options: ['noatime', 'nodev'], owner: undefined, mode: undefined },
    resize: 'grow',
    claim: 'optimistic',
    consensus: { waitSeconds: 30, lockTimeoutSeconds: 180 },
  })
  assert.is(spec.state, '/var/lib/cps/state.json')
  assert.equal(spec.provider, { kind: 'local', dir: '/var/lib/cps/local' })
})

test('flags override the file; the last of a repeated single flag wins', async () => {
  const spec = await loadSpec({
    file: join(validDir, 'local-ext4.yaml'),
    flags: { size: ['3', '5'], fs: ['btrfs'], state: ['/tmp/s.json'] },
  })
  assert.is(spec.volumes[0]?.sizeGiB, 5)
  assert.is(spec.volumes[0]?.filesystem.type, 'btrfs')
  assert.is(spec.volumes[0]?.filesystem.label, 'data')
  assert.is(spec.state, '/tmp/s.json')
})

test('aws flags build an aws spec; per-type rules apply to flags too', async () => {
  const base = { name: ['d'], tag: ['a=b'], mount: ['/x'], provider: ['aws'], size: ['200'] }
  const spec = await loadSpec({
    flags: {
      ...base,
      region: ['us-east-1'],
      type: ['io2'],
      iops: ['16000'],
      encrypted: ['true'],
      kmsKeyId: ['alias/ebs'],
      snapshot: ['snap-0123456789abcdef0'],
    },
  })
  assert.equal(spec.provider, { kind: 'aws', region: 'us-east-1', endpoint: undefined })
  assert.equal(spec.volumes[0]?.createOptions, {
    type: 'io2',
    iops: 16000,
    throughputMiBps: undefined,
    encrypted: true,
    kmsKeyId: 'alias/ebs',
    snapshot: { id: 'snap-0123456789abcdef0' },
  })
  assert.is(
    await firstError({ flags: { ...base, type: ['gp2'], throughput: ['300'] } }),
    'flag --throughput: /volumes/0/create/throughputMiBps: is not allowed for volume type gp2',
  )
  assert.is(
    await firstError({ flags: { ...base, encrypted: ['yes'] } }),
    'flag --encrypted: /volumes/0/create/encrypted: must be of type boolean (got string "yes")',
  )
  assert.is(
    await firstError({ flags: { name: ['d'], tag: ['a=b'], mount: ['/x'], size: ['5'], type: ['gp3'] } }),
    'flag --type: /volumes/0/create/type: create.type applies to the aws provider only',
  )
})

test('bad flag values are reported at the flag', async () => {
  assert.is(
    await firstError({ flags: { name: ['d'], tag: ['a=b'], mount: ['/x'], size: ['ten'] } }),
    'flag --size: /volumes/0/create/sizeGiB: must be an integer (got string "ten")',
  )
  assert.is(
    await firstError({ flags: { name: ['d'], tag: ['a=b'], mount: ['x'] } }),
    `flag --mount: /volumes/0/mount/path: invalid value "x": An absolute path without '.' or '..' components, empty components or white space.`,
  )
  assert.is(
    await firstError({ flags: { tag: ['a=b'], mount: ['/x'] } }),
    'flag --name: /volumes/0/name: missing required field "name"',
  )
  assert.is(
    await firstError({ flags: { name: ['d'], mount: ['/x'] } }),
    'flag --tag: /volumes/0/pool: missing required field "pool"',
  )
  assert.is(
    await firstError({ file: join(validDir, 'local-ext4.yaml'), flags: { fs: ['zfs'] } }),
    'flag --fs: /volumes/0/filesystem/type: must be one of ext4, xfs, btrfs (got "zfs")',
  )
  try {
    await loadSpec({ flags: { name: ['d'], tag: ['novalue'], mount: ['/x'] } })
    assert.unreachable()
  } catch (err) {
    assert.match((err as Error).message, /flag --tag: expected key=value, got "novalue"/)
  }
})

test('a missing file says so, with a hint', async () => {
  try {
    await loadSpec({ file: '/nonexistent/cps.yaml' })
    assert.unreachable()
  } catch (err) {
    assert.match((err as Error).message, /cannot read spec file \/nonexistent\/cps.yaml: ENOENT/)
  }
})

test.run()
