import { chmod, chown, mkdir, open, readFile, realpath, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { HostError } from '../../errors.js'
import { type Exec, systemExec } from '../../exec.js'
import { failpoint } from '../../failpoint.js'
import type { FsType } from '../../spec/types.js'
import type { DeviceIdentity, Edges, Host, MkfsRequest, MountInfo, Probe } from '../host.js'
import { type Roots, rootsFromEnv } from '../roots.js'
import {
  parseBlkidExport,
  parseBtrfsShowSize,
  parseDumpe2fsSize,
  parseFindmnt,
  parseWipefs,
  parseXfsInfoSize,
} from './parse.js'

const MiB = 1024 * 1024
const FINDMNT_COLUMNS = 'TARGET,SOURCE,FSTYPE,OPTIONS,UUID'

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return undefined
  }
}

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

/** The real Linux host: util-linux, e2fsprogs, xfsprogs, btrfs-progs, all through exec. */
export class LinuxHost implements Host {
  private readonly exec: Exec
  private readonly roots: Roots

  constructor(opts: { exec?: Exec; roots?: Roots } = {}) {
    this.exec = opts.exec ?? systemExec
    this.roots = opts.roots ?? rootsFromEnv()
  }

  private sysBlock(realPath: string): string {
    return join(this.roots.sys, 'class', 'block', basename(realPath))
  }

  async identity(path: string): Promise<DeviceIdentity | undefined> {
    let real: string
    try {
      real = await realpath(path)
      if (!(await stat(real)).isBlockDevice()) return undefined
    } catch {
      return undefined
    }
    const sys = this.sysBlock(real)
    const sectors = await readTrimmed(join(sys, 'size'))
    return {
      path,
      realPath: real,
      backingFile: await readTrimmed(join(sys, 'loop', 'backing_file')),
      serial: await readTrimmed(join(sys, 'device', 'serial')),
      sizeBytes: sectors === undefined ? 0 : Number(sectors) * 512,
    }
  }

  async probe(device: string): Promise<Probe> {
    // blkid exit 2 means "nothing found" but also "no such device": existence is checked by
    // the caller (identity) before a probe is trusted.
    const blkid = await this.exec('blkid', ['-p', '-o', 'export', device], {
      okCodes: [2, 8],
      timeoutMs: 30_000,
    })
    const wipefs = await this.exec('wipefs', ['--no-act', '--json', device], { timeoutMs: 30_000 })
    const signatures = blkid.code === 0 ? parseBlkidExport(blkid.stdout) : []
    for (const s of parseWipefs(wipefs.stdout))
      if (!signatures.some((x) => x.type === s.type && x.uuid === s.uuid)) signatures.push(s)
    return { signatures, ambivalent: blkid.code === 8 }
  }

  async readEdges(device: string): Promise<Edges> {
    let fh: Awaited<ReturnType<typeof open>> | undefined
    try {
      fh = await open(device, 'r')
      const { stdout } = await this.exec('blockdev', ['--getsize64', device])
      const size = Number(stdout.trim())
      if (!Number.isFinite(size) || size < 2 * MiB)
        throw new Error(`device size ${stdout.trim()} is below 2 MiB`)
      const first = Buffer.alloc(MiB)
      const last = Buffer.alloc(MiB)
      const a = await fh.read(first, 0, MiB, 0)
      const b = await fh.read(last, 0, MiB, size - MiB)
      if (a.bytesRead !== MiB || b.bytesRead !== MiB) throw new Error('short read')
      const sig = 'EFI PART'
      const backupGpt =
        last.subarray(MiB - 512, MiB - 512 + 8).toString('latin1') === sig ||
        last.subarray(MiB - 4096, MiB - 4096 + 8).toString('latin1') === sig
      return { firstZero: isZero(first), lastZero: isZero(last), backupGpt }
    } catch (cause) {
      if (cause instanceof HostError) throw cause
      throw new HostError(`cannot read the first and last MiB of ${device}: ${(cause as Error).message}`, {
        cause,
        device,
        hint: 'an unreadable device is never formatted; check the device and the kernel log (dmesg)',
      })
    } finally {
      await fh?.close()
    }
  }

  async mkfs(device: string, req: MkfsRequest): Promise<void> {
    const label = req.label ? ['-L', req.label] : []
    let cmd: string
    let args: string[]
    switch (req.type) {
      case 'ext4':
        cmd = 'mkfs.ext4'
        args = ['-q', ...(req.force ? ['-F'] : []), '-U', req.uuid, ...label, ...req.options, device]
        break
      case 'xfs':
        cmd = 'mkfs.xfs'
        args = [
          '-q',
          ...(req.force ? ['-f'] : []),
          '-m',
          `uuid=${req.uuid}`,
          ...label,
          ...req.options,
          device,
        ]
        break
      case 'btrfs':
        cmd = 'mkfs.btrfs'
        args = ['-q', ...(req.force ? ['-f'] : []), '-U', req.uuid, ...label, ...req.options, device]
        break
    }
    failpoint('mkfs-start')
    const run = this.exec(cmd, args, { timeoutMs: 30 * 60_000 })
    failpoint('mkfs')
    await run
  }

  async filesystemSize(device: string, type: FsType, mountpoint?: string): Promise<number> {
    switch (type) {
      case 'ext4':
        return parseDumpe2fsSize((await this.exec('dumpe2fs', ['-h', device])).stdout)
      case 'xfs':
        if (!mountpoint)
          throw new HostError(`xfs size of ${device} can only be read while mounted`, { device })
        return parseXfsInfoSize((await this.exec('xfs_info', [mountpoint])).stdout)
      case 'btrfs':
        if (!mountpoint)
          throw new HostError(`btrfs size of ${device} can only be read while mounted`, { device })
        return parseBtrfsShowSize(
          (await this.exec('btrfs', ['filesystem', 'show', '--raw', mountpoint])).stdout,
        )
    }
  }

  async growOffline(device: string, type: FsType): Promise<void> {
    if (type !== 'ext4') throw new HostError(`${type} cannot be grown offline`, { device })
    // e2fsck exit 1 = errors corrected, 0 = clean; anything higher needs a human.
    await this.exec('e2fsck', ['-f', '-p', device], { okCodes: [1], timeoutMs: 60 * 60_000 })
    await this.exec('resize2fs', [device], { timeoutMs: 60 * 60_000 })
  }

  async growOnline(device: string, type: FsType, mountpoint: string): Promise<void> {
    switch (type) {
      case 'ext4':
        await this.exec('resize2fs', [device], { timeoutMs: 60 * 60_000 })
        return
      case 'xfs':
        await this.exec('xfs_growfs', [mountpoint], { timeoutMs: 60 * 60_000 })
        return
      case 'btrfs':
        await this.exec('btrfs', ['filesystem', 'resize', 'max', mountpoint], { timeoutMs: 60 * 60_000 })
        return
    }
  }

  async findMount(path: string): Promise<MountInfo | undefined> {
    const r = await this.exec('findmnt', ['--json', '-o', FINDMNT_COLUMNS, '--mountpoint', path], {
      okCodes: [1],
    })
    return parseFindmnt(r.stdout)[0]
  }

  async mountsOf(device: string): Promise<MountInfo[]> {
    const r = await this.exec('findmnt', ['--json', '-o', FINDMNT_COLUMNS, '--source', device], {
      okCodes: [1],
    })
    return parseFindmnt(r.stdout)
  }

  async mount(device: string, path: string, type: FsType, options: string[]): Promise<void> {
    const opts = options.length ? ['-o', options.join(',')] : []
    await this.exec('mount', ['-t', type, ...opts, device, path], { timeoutMs: 5 * 60_000 })
  }

  async remount(path: string, options: string[]): Promise<void> {
    await this.exec('mount', ['-o', ['remount', ...options].join(','), path], { timeoutMs: 5 * 60_000 })
  }

  async ensureDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o755 })
  }

  async statDir(path: string): Promise<{ uid: number; gid: number; mode: number }> {
    const s = await stat(path)
    return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    await chown(path, uid, gid)
  }

  async chmod(path: string, mode: number): Promise<void> {
    await chmod(path, mode)
  }
}
