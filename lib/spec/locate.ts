import { type Document, isMap, isNode, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml'

/** A place in the spec a message can point at: `file:line:col`, or the flag that set it. */
export interface Location {
  file: string
  line?: number
  col?: number
  flag?: string
}

export function formatLocation(loc: Location): string {
  if (loc.flag) return `flag ${loc.flag}`
  if (loc.line === undefined) return loc.file
  return `${loc.file}:${loc.line}:${loc.col}`
}

/** Split a JSON pointer (`/volumes/0/mount`) into keys, with numbers for list indexes. */
export function pointerKeys(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k))
}

/**
 * Find the YAML node for a JSON pointer. When `key` is given, point at that key of the map
 * (an unknown field); when the path is missing, fall back to the nearest parent that exists.
 */
export function locate(
  doc: Document | undefined,
  counter: LineCounter | undefined,
  file: string,
  keys: (string | number)[],
  key?: string,
): Location {
  if (!doc || !counter) return { file }
  let node: unknown = doc.contents
  for (const k of keys) {
    const child = isMap(node) || isSeq(node) ? node.get(k, true) : undefined
    if (!isNode(child)) break
    node = child
  }
  let target: Node | undefined = isNode(node) ? node : undefined
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key)
    if (pair && isNode(pair.key)) target = pair.key
  }
  const offset = target?.range?.[0]
  if (offset === undefined) return { file }
  const pos = counter.linePos(offset)
  return { file, line: pos.line, col: pos.col }
}
