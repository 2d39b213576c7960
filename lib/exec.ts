import { execFile } from 'node:child_process'
import { HostError } from './errors.js'
import { log } from './log.js'

/** What a command printed and how it ended. */
export interface ExecResult {
  stdout: string
  stderr: string
  /** Exit status; 0 on success. */
  code: number
}

export interface ExecOptions {
  /** Milliseconds before the command is killed; default 60 s. */
  timeoutMs?: number
  /** Exit codes that are answers, not failures (blkid's 2 = nothing found). */
  okCodes?: number[]
  input?: string
  signal?: AbortSignal
}

/** Runs one command with an argument array; the only door to the OS. */
export type Exec = (cmd: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>

/** Package that ships each command we run, for the "not installed" hint. */
const packages: Record<string, string> = {
  'mkfs.xfs': 'xfsprogs',
  xfs_growfs: 'xfsprogs',
  xfs_info: 'xfsprogs',
  xfs_admin: 'xfsprogs',
  'mkfs.btrfs': 'btrfs-progs',
  btrfs: 'btrfs-progs',
  'mkfs.ext4': 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
}

/**
 * The real exec: execFile (no shell), a timeout, and stderr kept in the error. Exit codes in
 * okCodes are returned, not thrown.
 */
export const systemExec: Exec = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = execFile(
      cmd,
      [...args],
      {
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        signal: opts.signal,
        env: { ...process.env, LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        log.debug(`exec ${cmd} ${args.join(' ')} (${Math.round(performance.now() - started)} ms)`)
        if (!err) return resolve({ stdout, stderr, code: 0 })
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string }
        if (e.code === 'ENOENT') {
          const pkg = packages[cmd] ?? 'util-linux'
          return reject(
            new HostError(`${cmd} is not installed`, {
              cause: err,
              hint: `install it: apt-get install -y ${pkg}`,
            }),
          )
        }
        const code = typeof e.code === 'number' ? e.code : -1
        if (opts.okCodes?.includes(code)) return resolve({ stdout, stderr, code })
        const how = e.killed || e.signal ? `was killed (${e.signal ?? 'timeout'})` : `exited ${code}`
        const detail = stderr.trim() || stdout.trim()
        // Loop devices, mkfs and mount need root: say so rather than leave a bare EPERM.
        const notRoot =
          process.getuid?.() !== 0 &&
          /permission denied|operation not permitted|must be superuser/i.test(detail)
        reject(
          new HostError(`${cmd} ${args.join(' ')} ${how}${detail ? `: ${detail}` : ''}`, {
            cause: err,
            hint: notRoot ? 'cps attaches, formats and mounts block devices: run it as root' : undefined,
          }),
        )
      },
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
