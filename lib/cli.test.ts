import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createCli } from './cli.js'
import { FakeHost } from './hosts/fake/fake-host.js'
import { packageRoot } from './paths.js'
import { FakeProvider } from './providers/fake/fake-provider.js'
import { paths } from './testing/fixtures.js'

const test = suite('cli (fake provider and host)')

function cli() {
  let out = ''
  const host = new FakeHost()
  const provider = new FakeProvider(host)
  const { run } = createCli(
    (t) => {
      out += t
    },
    { createProvider: () => provider, createHost: () => host },
  )
  return { run: (args: string[]) => run(['node', 'cps', ...args, '--quiet']), out: () => out, host, provider }
}

const dir = mkdtempSync(join(tmpdir(), 'cps-cli-'))
const flags = [
  '--name',
  'data',
  '--tag',
  'app=cli',
  '--size',
  '2',
  '--mount',
  '/mnt/cli',
  '--state',
  join(dir, 'state.json'),
]

test('plan renders a Terraform-like diff; --detailed-exitcode says 2 for changes', async () => {
  const c = cli()
  assert.is(await c.run(['plan', ...flags, '--detailed-exitcode']), 2)
  assert.fixture(
    c.out(),
    [
      'Symbols: + create',
      '',
      '  # volume "data"',
      '  + create volume 2 GiB in pool app=cli, with a format token',
      '  + attach the volume to this host',
      '  + format ext4 if the volume is blank',
      '  + mount ext4 at /mnt/cli',
      '',
      'Plan: 4 to add, 0 to change, 0 to destroy.',
      '',
    ].join('\n'),
  )
  assert.equal(c.provider.calls, ['findAttached', 'listAvailable'])
})

test('apply, then plan: no changes, exit 0; --json has the same result object', async () => {
  const c = cli()
  assert.is(await c.run(['apply', ...flags]), 0)
  assert.match(c.out(), /Apply complete! 4 added, 0 changed, 0 destroyed\./)
  const before = c.out().length
  assert.is(await c.run(['plan', ...flags, '--detailed-exitcode', '--json']), 0)
  const json = JSON.parse(c.out().slice(before))
  assert.is(json.mode, 'plan')
  assert.equal(json.summary, { add: 0, change: 0, destroy: 0 })
  assert.ok(json.volumes[0].changes.every((ch: { action: string }) => ch.action === 'none'))
})

test('a refusal exits 3 and shows the error and the hint', async () => {
  const c = cli()
  const vol = c.provider.addVolume({ tags: { app: 'cli', 'cps:format-token': 't' } })
  c.host.addDevice(c.provider.devicePath(vol.id), {
    backingFile: `/images/${vol.id}`,
    sizeBytes: 2 * 1024 ** 3,
    signatures: [{ type: 'xfs', uuid: 'x' }],
  })
  Object.assign(vol, { attachedTo: 'i-self', state: 'in-use' })
  assert.is(await c.run(['apply', ...flags.slice(0, -2), '--state', join(dir, 'refuse.json')]), 3)
  assert.match(
    c.out(),
    /! error: volume vol-\w+ \(\/dev\/fake-vol-\w+\): was created by cps and should be blank, but holds xfs/,
  )
  assert.match(c.out(), /hint: something wrote to this volume outside cps/)
  assert.match(c.out(), /Apply failed for 1 of 1 volume/)
})

test('validate, schema, status and errors without a spec', async () => {
  const c = cli()
  assert.is(await c.run(['validate', paths.validSpec('multi-volume.yaml')]), 0)
  assert.match(c.out(), /multi-volume.yaml: valid \(2 volumes: data, logs\)/)
  const j = cli()
  assert.is(
    await j.run([
      'validate',
      join(packageRoot, 'fixtures', 'specs', 'invalid', '17-size-zero.yaml'),
      '--json',
    ]),
    1,
  )
  const doc = JSON.parse(j.out())
  assert.is(doc.error.name, 'SpecError')
  assert.is(doc.error.exitCode, 1)
  assert.equal(doc.error.problems[0].pointer, '/volumes/0/create/sizeGiB')
  assert.equal(doc.error.problems[0].location.line, 6)
  const s = cli()
  assert.is(await s.run(['schema']), 0)
  assert.is(JSON.parse(s.out()).title, 'Spec')
  assert.is(await cli().run(['apply']), 1)
  assert.is(await cli().run(['frobnicate']), 1)
  assert.is(await cli().run(['plan', ...flags, '--bogus-flag']), 1)
  assert.is(await cli().run(['apply', ...flags, '--lock-timeout', 'soon']), 1)
  const st = cli()
  assert.is(await st.run(['status', '--state', join(dir, 'none.json')]), 0)
  assert.match(st.out(), /\(no facts recorded yet\)/)
})

test('every single-volume spec field has a flag, and --help documents exit codes', async () => {
  const c = cli()
  const { cli: cac } = createCli(() => {})
  const apply = cac.commands.find((x) => x.name === 'apply')
  const names = apply?.options.map((o) => o.name) ?? []
  for (const f of [
    'provider',
    'localDir',
    'state',
    'name',
    'tag',
    'size',
    'fs',
    'format',
    'label',
    'mkfsOption',
    'mount',
    'mountOption',
    'owner',
    'mode',
    'resize',
  ])
    assert.ok(names.includes(f), `apply has no --${f}`)
  let help = ''
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string) => {
    help += chunk
    return true
  }) as typeof process.stdout.write
  try {
    await c.run(['--help'])
  } finally {
    process.stdout.write = write
  }
  assert.match(help, /Exit codes:\n\s+0\s+ok/)
  assert.match(help, /3\s+refused/)
})

test.after(() => rmSync(dir, { recursive: true, force: true }))
test.run()
