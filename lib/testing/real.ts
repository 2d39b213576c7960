import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../paths.js'

/** Fail (never skip) when a needed command is missing, naming the Debian package. */
export function requireTools(tools: Record<string, string>): void {
  if (process.getuid?.() !== 0)
    throw new Error('these tests need root (loop devices, mkfs, mount): run them as root')
  const missing = Object.entries(tools).filter(([cmd]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  if (missing.length)
    throw new Error(
      `missing commands: ${missing.map(([c, p]) => `${c} (apt-get install -y ${p})`).join(', ')}`,
    )
}

export const linuxTools = {
  losetup: 'mount',
  blkid: 'util-linux',
  wipefs: 'util-linux',
  findmnt: 'util-linux',
  'mkfs.ext4': 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  xfs_growfs: 'xfsprogs',
  'mkfs.btrfs': 'btrfs-progs',
}

export interface CpsRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** --json output, when asked for. */
  json?: {
    volumes: {
      name: string
      volumeId?: string
      changes: { step: string; action: string; what: string }[]
      warnings: string[]
      error?: { name: string; message: string }
    }[]
  }
}

/** A temp dir holding a local provider dir, a state file and mount points; cleans up after. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'cps-e2e-'))
  readonly localDir = join(this.dir, 'local')
  readonly state = join(this.dir, 'state.json')
  env: Record<string, string> = {}

  mountPath(name = 'data'): string {
    return join(this.dir, 'mnt', name)
  }

  /** Run the built CLI as a user would, as its own process group (so failpoints can kill mkfs too). */
  cps(args: string[], env: Record<string, string> = {}): Promise<CpsRun> {
    const bin = join(packageRoot, 'dist', 'bin', 'cps.js')
    const json = args.includes('--json')
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [bin, ...args, '--state', this.state, '--local-dir', this.localDir],
        {
          env: { ...process.env, ...this.env, ...env, NO_COLOR: '1' },
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => {
        stdout += d
      })
      child.stderr.on('data', (d) => {
        stderr += d
      })
      child.on('close', (code, signal) => {
        let parsed: CpsRun['json']
        if (json && stdout.trim()) parsed = JSON.parse(stdout)
        resolve({ code, signal, stdout, stderr, json: parsed })
      })
    })
  }

  catalog(): { volumes: Record<string, { id: string; sizeGiB: number; tags: Record<string, string> }> } {
    return JSON.parse(readFileSync(join(this.localDir, 'catalog.json'), 'utf8'))
  }

  image(id: string): string {
    return join(this.localDir, 'images', `${id}.img`)
  }

  /** Loop devices backed by this sandbox's images. */
  loops(): { name: string; file: string }[] {
    const out = execFileSync('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'], {
      encoding: 'utf8',
    })
    if (!out.trim()) return []
    return (JSON.parse(out).loopdevices as { name: string; 'back-file': string | null }[])
      .filter((l) => l['back-file']?.startsWith(this.dir))
      .map((l) => ({ name: l.name, file: l['back-file'] as string }))
  }

  /** What a reboot does to a local volume: unmount everything here and detach the loops. */
  reboot(): void {
    for (const target of this.mounts().reverse()) execFileSync('umount', [target])
    for (const l of this.loops()) execFileSync('losetup', ['-d', l.name])
  }

  mounts(): string[] {
    const out = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
    return out.split('\n').filter((t) => t.startsWith(this.dir))
  }

  cleanup(): void {
    try {
      this.reboot()
    } finally {
      rmSync(this.dir, { recursive: true, force: true })
    }
  }
}

/** findmnt facts about a mount point. */
export function mountInfo(
  path: string,
): { source: string; fstype: string; options: string[]; uuid: string; label: string } | undefined {
  try {
    const out = execFileSync(
      'findmnt',
      ['--json', '-o', 'SOURCE,FSTYPE,OPTIONS,UUID,LABEL', '--mountpoint', path],
      { encoding: 'utf8' },
    )
    const fs = JSON.parse(out).filesystems[0]
    return { ...fs, options: fs.options.split(',') }
  } catch {
    return undefined
  }
}

/**
 * CRC and size of a whole (sparse, GiB-sized) image: proof that nothing wrote to it. cksum's
 * CRC is 30× faster than sha256sum here, and an accidental mkfs is no adversary.
 */
export function checksum(file: string): string {
  return execFileSync('cksum', [file], { encoding: 'utf8' }).split(' ').slice(0, 2).join(' ')
}

export function writeData(dir: string, text: string): void {
  writeFileSync(join(dir, 'precious.txt'), text)
  execFileSync('sync')
}

/** Run fn with a fresh Sandbox, cleaned up (unmounted, loops detached, removed) whatever happens. */
export async function withSandbox<T>(fn: (sb: Sandbox) => Promise<T>): Promise<T> {
  const sb = new Sandbox()
  try {
    return await fn(sb)
  } finally {
    sb.cleanup()
  }
}
