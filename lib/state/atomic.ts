import { randomUUID } from 'node:crypto'
import { mkdir, open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Write JSON atomically: a 0600 temp file, fsync, rename over the target, fsync the directory. */
export async function writeJsonAtomic(path: string, data: unknown): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}
