import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HostError, LockError } from '../errors.js'
import { CheckpointStore, readCheckpoint } from './checkpoint.js'
import { acquireLock } from './lock.js'

const test = suite('checkpoint and host lock')
const tmp = () => mkdtempSync(join(tmpdir(), 'cps-state-'))

test('checkpoint: facts are written at once, 0600, versioned, and read back', async () => {
  const dir = tmp()
  const path = join(dir, 'sub', 'state.json')
  const cp = await CheckpointStore.open(path)
  await cp.update('data', { volumeId: 'vol-1', claimId: 'c' })
  await cp.update('data', { claimId: undefined, fsUuid: 'u' })
  assert.is(statSync(path).mode & 0o777, 0o600)
  const back = await readCheckpoint(path)
  assert.is(back.version, 1)
  assert.is(back.volumes.data?.volumeId, 'vol-1')
  assert.is(back.volumes.data?.fsUuid, 'u')
  assert.not.ok('claimId' in (back.volumes.data ?? {}))
  assert.equal(readdirSync(join(dir, 'sub')), ['state.json'])
  rmSync(dir, { recursive: true })
})

test('checkpoint: a corrupt or foreign file is moved aside and the run starts empty', async () => {
  const dir = tmp()
  for (const text of ['{"version":1,"vol', '{"version":7,"volumes":{}}', '[]']) {
    const path = join(dir, 'state.json')
    writeFileSync(path, text)
    const cp = await readCheckpoint(path)
    assert.equal(cp, { version: 1, volumes: {} })
    assert.not.ok(existsSync(path))
    const aside = readdirSync(dir).find((f) => f.startsWith('state.json.corrupt-'))
    assert.ok(aside)
    assert.is(readFileSync(join(dir, aside as string), 'utf8'), text)
    rmSync(join(dir, aside as string))
  }
  rmSync(dir, { recursive: true })
})

test('checkpoint: read-only mode (plan) never moves or writes', async () => {
  const dir = tmp()
  const path = join(dir, 'state.json')
  writeFileSync(path, 'garbage')
  const cp = await CheckpointStore.open(path, { readOnly: true })
  await cp.update('data', { volumeId: 'vol-1' })
  assert.is(readFileSync(path, 'utf8'), 'garbage')
  rmSync(dir, { recursive: true })
})

test('lock: a second taker waits, then times out with the holder named', async () => {
  const dir = tmp()
  const path = join(dir, 'state.json.lock')
  const first = await acquireLock(path, { what: 'cps apply' })
  let waitedFor = ''
  try {
    await acquireLock(path, { timeoutMs: 300, pollMs: 50, onWait: (h) => (waitedFor = h) })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, LockError)
    assert.match((err as Error).message, new RegExp(`pid ${process.pid} \\(cps apply`))
  }
  assert.match(waitedFor, /cps apply/)
  await first.release()
  const again = await acquireLock(path, { timeoutMs: 300 })
  await again.release()
  assert.not.ok(existsSync(path))
  rmSync(dir, { recursive: true })
})

test('lock: the waiter gets it as soon as the holder releases', async () => {
  const dir = tmp()
  const path = join(dir, 'l')
  const first = await acquireLock(path)
  setTimeout(() => void first.release(), 100)
  const second = await acquireLock(path, { timeoutMs: 5000, pollMs: 20 })
  await second.release()
  rmSync(dir, { recursive: true })
})

test('lock: a lock left by a SIGKILLed process is broken', async () => {
  const dir = tmp()
  const path = join(dir, 'l')
  // A child takes the lock and is killed without releasing it.
  const lockModule = new URL('./lock.js', import.meta.url).href
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(lockModule)}); await m.acquireLock(${JSON.stringify(path)}); console.log('held'); setInterval(() => {}, 1000)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
  assert.ok(existsSync(path))
  const lock = await acquireLock(path, { timeoutMs: 2000, pollMs: 20 })
  await lock.release()
  rmSync(dir, { recursive: true })
})

test('a lock or checkpoint on a read-only filesystem is a clear error, not a stack trace', async () => {
  const dir = tmp()
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'cps-ro', dir])
  try {
    try {
      await acquireLock(join(dir, 'state.json.lock'))
      assert.unreachable()
    } catch (err) {
      assert.instance(err, HostError)
      assert.match((err as Error).message, /cannot take the host lock .*state\.json\.lock: EROFS/)
    }
    const cp = await CheckpointStore.open(join(dir, 'state.json'))
    try {
      await cp.update('data', { volumeId: 'vol-1' })
      assert.unreachable()
    } catch (err) {
      assert.instance(err, HostError)
      assert.match((err as Error).message, /cannot write the checkpoint .*state\.json: EROFS/)
    }
  } finally {
    execFileSync('umount', [dir])
    rmSync(dir, { recursive: true })
  }
})

test.run()
