import type { MountInfo, Signature } from '../host.js'

/** Parse `blkid -p -o export` output (KEY=value lines) into one signature, if any. */
export function parseBlkidExport(text: string): Signature[] {
  const kv: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1)
  }
  if (kv.TYPE) return [{ type: kv.TYPE, uuid: kv.UUID, label: kv.LABEL, usage: kv.USAGE }]
  if (kv.PTTYPE) return [{ type: kv.PTTYPE, uuid: kv.PTUUID, usage: 'partition_table' }]
  return []
}

/** wipefs names partition tables by these types (libblkid's partition probers). */
const PARTITION_TABLES = new Set([
  'gpt',
  'PMBR',
  'dos',
  'atari',
  'bsd',
  'mac',
  'sgi',
  'sun',
  'solaris',
  'unixware',
  'minix',
  'aix',
  'ultrix',
])

/** Parse `wipefs --json` output; no output (or an empty list) means no signatures. */
export function parseWipefs(text: string): Signature[] {
  if (!text.trim()) return []
  const doc = JSON.parse(text) as { signatures?: { type: string; uuid?: string; label?: string }[] }
  return (doc.signatures ?? []).map((s) => ({
    type: s.type,
    uuid: s.uuid || undefined,
    label: s.label || undefined,
    ...(PARTITION_TABLES.has(s.type) && { usage: 'partition_table' }),
  }))
}

/** Parse `findmnt --json -o TARGET,SOURCE,FSTYPE,OPTIONS,UUID`. */
export function parseFindmnt(text: string): MountInfo[] {
  if (!text.trim()) return []
  const doc = JSON.parse(text) as {
    filesystems?: { target: string; source: string; fstype: string; options: string; uuid?: string | null }[]
  }
  return (doc.filesystems ?? []).map((f) => ({
    target: f.target,
    source: f.source,
    fstype: f.fstype,
    options: f.options.split(','),
    uuid: f.uuid ?? undefined,
  }))
}

/** Bytes an ext4 filesystem spans, from `dumpe2fs -h`. */
export function parseDumpe2fsSize(text: string): number {
  const count = /^Block count:\s+(\d+)/m.exec(text)
  const size = /^Block size:\s+(\d+)/m.exec(text)
  if (!count || !size) throw new Error('dumpe2fs output has no Block count / Block size')
  return Number(count[1]) * Number(size[1])
}

/** Bytes an xfs data section spans, from `xfs_info`. */
export function parseXfsInfoSize(text: string): number {
  const m = /^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)/m.exec(text)
  if (!m) throw new Error('xfs_info output has no data bsize/blocks line')
  return Number(m[1]) * Number(m[2])
}

/** Bytes a single-device btrfs spans on its device, from `btrfs filesystem show --raw`. */
export function parseBtrfsShowSize(text: string): number {
  const m = /devid\s+\d+\s+size\s+(\d+)/.exec(text)
  if (!m) throw new Error('btrfs filesystem show output has no devid size')
  return Number(m[1])
}
