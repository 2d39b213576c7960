import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's root directory (where package.json and schemas/ live), from source or dist. */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cps: cannot find package.json above the running module')
    dir = up
  }
  return dir
})()

/** Defaults shared by the schema, the flags and the help text. */
export const defaults = {
  state: '/var/lib/cps/state.json',
  localDir: '/var/lib/cps/local',
  lockTimeoutSeconds: 120,
} as const
