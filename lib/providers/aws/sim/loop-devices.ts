import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Roots } from '../../../hosts/roots.js'
import { nitroByIdPath, nvmeSerial } from '../devices.js'
import type { InstanceHooks } from './ec2-sim.js'

const GiB = 1024 ** 3

/**
 * The local side of a simulated Nitro instance, for real: each EBS volume's data is a sparse
 * image file; when EC2 attaches it, it becomes a loop device, and the fake dev tree gets the
 * by-id link udev would make and the fake sys tree the device's size and NVMe serial (padded
 * to 20 characters, as the kernel prints it). Growing truncates the image and sets the loop's
 * capacity. Needs root.
 */
export class LoopDevices {
  readonly roots: Roots
  readonly loops = new Map<string, string>()

  constructor(readonly dir: string) {
    this.roots = { dev: join(dir, 'dev'), sys: join(dir, 'sys') }
    mkdirSync(join(this.roots.dev, 'disk', 'by-id'), { recursive: true })
    mkdirSync(join(dir, 'ebs'), { recursive: true })
  }

  image(volumeId: string): string {
    return join(this.dir, 'ebs', `${volumeId}.img`)
  }

  private sysDir(loop: string): string {
    return join(this.roots.sys, 'class', 'block', loop.replace('/dev/', ''))
  }

  private writeSize(loop: string, bytes: number): void {
    writeFileSync(join(this.sysDir(loop), 'size'), `${bytes / 512}\n`)
  }

  hooks(): InstanceHooks {
    return {
      attached: (volumeId, _device, sizeGiB) => {
        const image = this.image(volumeId)
        if (!existsSync(image)) writeFileSync(image, '')
        truncateSync(image, sizeGiB * GiB)
        const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim()
        this.loops.set(volumeId, loop)
        mkdirSync(join(this.sysDir(loop), 'device'), { recursive: true })
        this.writeSize(loop, sizeGiB * GiB)
        writeFileSync(join(this.sysDir(loop), 'device', 'serial'), `${nvmeSerial(volumeId).padEnd(20)}\n`)
        const link = nitroByIdPath(this.roots, volumeId)
        if (existsSync(link)) unlinkSync(link)
        symlinkSync(loop, link)
      },
      resized: (volumeId, sizeGiB) => {
        const loop = this.loops.get(volumeId)
        truncateSync(this.image(volumeId), sizeGiB * GiB)
        if (!loop) return
        execFileSync('losetup', ['--set-capacity', loop])
        this.writeSize(loop, sizeGiB * GiB)
      },
    }
  }

  /** Detach every loop device made here (unmount first). */
  cleanup(): void {
    for (const loop of this.loops.values()) {
      try {
        execFileSync('losetup', ['-d', loop])
      } catch {}
    }
    this.loops.clear()
  }
}
