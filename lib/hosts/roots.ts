import { basename, join } from 'node:path'

/** Roots of the device and sysfs trees; tests point them at fake trees backed by loop devices. */
export interface Roots {
  dev: string
  sys: string
}

/** From CPS_DEV_DIR and CPS_SYS_DIR, else /dev and /sys. */
export function rootsFromEnv(env: NodeJS.ProcessEnv = process.env): Roots {
  return { dev: env.CPS_DEV_DIR || '/dev', sys: env.CPS_SYS_DIR || '/sys' }
}

/** Map a kernel device name (/dev/loop3) into the configured dev tree. */
export function devPath(roots: Roots, kernelPath: string): string {
  return roots.dev === '/dev' ? kernelPath : join(roots.dev, basename(kernelPath))
}
