import { readFileSync } from 'node:fs'
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { HostError, LockError } from '../errors.js'

/** Who holds a lock: enough to tell a live holder from one that died (SIGKILL, reboot). */
interface Holder {
  pid: number
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22): guards pid reuse. */
  start: string
  bootId: string
  since: string
  what: string
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

function alive(h: Holder): boolean {
  if (h.bootId !== bootId()) return false
  return procStart(h.pid) === h.start
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder
  } catch {
    return undefined
  }
}

async function tryCreate(path: string, holder: Holder): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600)
    await fh.writeFile(JSON.stringify(holder))
    await fh.close()
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

/** Remove a dead holder's lock. A second lock file makes sure only one waiter breaks it. */
async function breakStale(path: string, me: Holder): Promise<void> {
  const breaker = `${path}.break`
  if (!(await tryCreate(breaker, me))) {
    const age = Date.now() - (await stat(breaker).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs
    if (age > 10_000) await unlink(breaker).catch(() => {})
    return
  }
  try {
    const h = await readHolder(path)
    if (h && !alive(h)) await unlink(path).catch(() => {})
    if (!h) {
      // Unreadable: a holder killed between create and write. Give it a moment, then break.
      const age = Date.now() - (await stat(path).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs
      if (age > 5_000) await unlink(path).catch(() => {})
    }
  } finally {
    await unlink(breaker).catch(() => {})
  }
}

export interface LockOptions {
  /** Give up after this many ms; default 120 s. */
  timeoutMs?: number
  /** What holds the lock, shown to waiters: "cps apply". */
  what?: string
  /** Called once when we start waiting, with a description of the holder. */
  onWait?: (holder: string) => void
  pollMs?: number
}

/** A held host lock; release() is idempotent. */
export interface HostLock {
  path: string
  release(): Promise<void>
}

/**
 * Take the host lock at `path` so two cps runs on one host never interleave. Waits while a
 * live process holds it; a lock whose holder died is broken. Throws LockError on timeout.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HostLock> {
  try {
    return await acquire(path, opts)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err
    throw new HostError(`cannot take the host lock ${path}: ${code}`, {
      cause: err,
      hint: 'run cps as root, or point --state at a writable directory',
    })
  }
}

async function acquire(path: string, opts: LockOptions): Promise<HostLock> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const me: Holder = {
    pid: process.pid,
    start: procStart(process.pid) ?? '',
    bootId: bootId(),
    since: new Date().toISOString(),
    what: opts.what ?? 'cps',
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000)
  let told = false
  for (;;) {
    if (await tryCreate(path, me)) break
    const h = await readHolder(path)
    if (!h || !alive(h)) {
      await breakStale(path, me)
      continue
    }
    const desc = `pid ${h.pid} (${h.what}, since ${h.since})`
    if (Date.now() >= deadline)
      throw new LockError(`another cps run holds the lock ${path}: ${desc}`, {
        hint: 'wait for it to finish, or raise --lock-timeout; if that process is gone the lock is broken on the next try',
      })
    if (!told) opts.onWait?.(desc)
    told = true
    await sleep(Math.min(opts.pollMs ?? 250, Math.max(1, deadline - Date.now())))
  }
  let released = false
  return {
    path,
    async release() {
      if (released) return
      released = true
      const h = await readHolder(path)
      if (h?.pid === me.pid && h.start === me.start) await unlink(path).catch(() => {})
    },
  }
}
