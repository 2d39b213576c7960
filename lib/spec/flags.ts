import { ConfigError } from '../errors.js'
import { defaults } from '../paths.js'

/** How a flag's text becomes a spec value. */
type FlagKind = 'string' | 'integer' | 'list' | 'tags' | 'boolean'

/** A CLI flag that sets one spec field. */
export interface SpecFlag {
  /** Long name without dashes, as typed: `mount-option`. */
  name: string
  /** Path of the field it sets; `volume` paths are relative to the overridden volume. */
  path: readonly (string | number)[]
  scope: 'spec' | 'volume'
  kind: FlagKind
  /** Placeholder shown in --help: `--size <GiB>`. */
  arg: string
  help: string
}

const flag =
  (scope: SpecFlag['scope']) =>
  (name: string, path: string[], kind: FlagKind, arg: string, help: string): SpecFlag => ({
    name,
    path,
    scope,
    kind,
    arg,
    help,
  })
/** A flag for a spec-wide field. */
const s = flag('spec')
/** A flag for a field of the (first) volume. */
const v = flag('volume')

/** Every field of a single-volume spec, as a flag. The help text says the type and default. */
export const specFlags: readonly SpecFlag[] = [
  s('provider', ['provider'], 'string', 'local|aws', 'where volumes come from (default: local)'),
  s(
    'region',
    ['provider', 'aws', 'region'],
    'string',
    'region',
    "aws: region; must be this instance's (default: from IMDS)",
  ),
  s(
    'endpoint',
    ['provider', 'aws', 'endpoint'],
    'string',
    'url',
    'aws: EC2 endpoint URL (default: AWS_ENDPOINT_URL, else the regional one)',
  ),
  s(
    'local-dir',
    ['provider', 'local', 'dir'],
    'string',
    'path',
    `local provider: catalog and image directory (default: ${defaults.localDir})`,
  ),
  s('state', ['state'], 'string', 'path', `checkpoint file (default: ${defaults.state})`),
  v('claim', ['claim'], 'string', 'optimistic|consensus', 'how to claim a pool volume (default: optimistic)'),
  v(
    'claim-wait',
    ['consensus', 'waitSeconds'],
    'integer',
    'seconds',
    'consensus: wait before re-reading a claim (default: 30)',
  ),
  v(
    'claim-timeout',
    ['consensus', 'lockTimeoutSeconds'],
    'integer',
    'seconds',
    'consensus: ignore older claims (default: 180)',
  ),
  v('name', ['name'], 'string', 'name', 'volume name, the checkpoint key (required without a file)'),
  v('tag', ['pool', 'tags'], 'tags', 'key=value', 'pool tag; repeat for more (required without a file)'),
  v(
    'size',
    ['create', 'sizeGiB'],
    'integer',
    'GiB',
    'size to create with, and to grow to (without it: never create)',
  ),
  v(
    'type',
    ['create', 'type'],
    'string',
    'gp3|gp2|io1|io2|st1|sc1|standard',
    'aws: volume type (default: gp3)',
  ),
  v('iops', ['create', 'iops'], 'integer', 'n', 'aws: provisioned IOPS (gp3, io1, io2)'),
  v('throughput', ['create', 'throughputMiBps'], 'integer', 'MiB/s', 'aws: throughput (gp3)'),
  v('encrypted', ['create', 'encrypted'], 'boolean', 'true|false', 'aws: encrypt the volume'),
  v(
    'kms-key-id',
    ['create', 'kmsKeyId'],
    'string',
    'key',
    'aws: KMS key id, ARN or alias (implies --encrypted true)',
  ),
  v('snapshot', ['create', 'snapshot', 'id'], 'string', 'snap-id', 'aws: create from this snapshot'),
  v('fs', ['filesystem', 'type'], 'string', 'ext4|xfs|btrfs', 'filesystem type (default: ext4)'),
  v(
    'format',
    ['filesystem', 'format'],
    'string',
    'if-created|if-blank',
    'when mkfs may run (default: if-created)',
  ),
  v('label', ['filesystem', 'label'], 'string', 'label', 'filesystem label (ext4 <= 16, xfs <= 12 chars)'),
  v('mkfs-option', ['filesystem', 'mkfsOptions'], 'list', 'arg', 'extra mkfs argument; repeat for more'),
  v('mount', ['mount', 'path'], 'string', 'path', 'mount point (required without a file)'),
  v('mount-option', ['mount', 'options'], 'list', 'option', 'mount option, e.g. noatime; repeat for more'),
  v('owner', ['mount', 'owner'], 'string', 'uid[:gid]', 'owner of the mounted root directory'),
  v('mode', ['mount', 'mode'], 'string', 'octal', 'mode of the mounted root directory, e.g. 0750'),
  v(
    'resize',
    ['resize'],
    'string',
    'grow|never',
    'grow volume and filesystem when --size grows (default: grow)',
  ),
]

/** The camelCase key cac gives a flag's value. */
export function optionKey(flag: SpecFlag): string {
  return flag.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

function lastOf(value: unknown): string {
  const all = Array.isArray(value) ? value : [value]
  return String(all[all.length - 1])
}

function listOf(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).map(String)
}

function convert(flag: SpecFlag, raw: unknown): unknown {
  switch (flag.kind) {
    case 'string':
      return lastOf(raw)
    case 'integer': {
      const text = lastOf(raw)
      // Leave non-integers as text: the schema then says "must be integer" at this flag.
      return /^-?\d+$/.test(text) ? Number(text) : text
    }
    case 'boolean': {
      const text = lastOf(raw)
      // Leave anything else as text: the schema then says "must be boolean" at this flag.
      return text === 'true' ? true : text === 'false' ? false : text
    }
    case 'list':
      return listOf(raw)
    case 'tags': {
      const tags: Record<string, string> = {}
      for (const pair of listOf(raw)) {
        const eq = pair.indexOf('=')
        if (eq <= 0)
          throw new ConfigError(`flag --${flag.name}: expected key=value, got "${pair}"`, {
            hint: `write it as --${flag.name} app=kafka`,
          })
        tags[pair.slice(0, eq)] = pair.slice(eq + 1)
      }
      return tags
    }
  }
}

function setIn(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[path[path.length - 1] as string] = value
}

/**
 * Apply flag values onto a parsed spec (or build one from flags alone). Flags override the
 * file; volume flags apply to the file's first volume. Returns the JSON pointers flags set.
 */
export function applyFlags(
  spec: Record<string, unknown> | undefined,
  options: Record<string, unknown>,
): { spec: Record<string, unknown>; setBy: Map<string, string> } {
  const out: Record<string, unknown> = spec ? structuredClone(spec) : { apiVersion: 'cps/v1' }
  const setBy = new Map<string, string>()
  for (const flag of specFlags) {
    const raw = options[optionKey(flag)]
    if (raw === undefined) continue
    let value = convert(flag, raw)
    let path = flag.path
    if (flag.name === 'provider') {
      // --provider local → provider: { local: {} }, keeping a --local-dir given alongside.
      const current = (out.provider as Record<string, unknown> | undefined) ?? {}
      value = { [String(value)]: current[String(value)] ?? {} }
    }
    if (flag.scope === 'volume') {
      if (!Array.isArray(out.volumes) || out.volumes.length === 0) out.volumes = [{}]
      const first = (out.volumes as unknown[])[0]
      if (first === null || typeof first !== 'object') (out.volumes as unknown[])[0] = {}
      setIn((out.volumes as Record<string, unknown>[])[0] as Record<string, unknown>, path, value)
      path = ['volumes', 0, ...path]
    } else {
      setIn(out, path, value)
    }
    setBy.set(`/${path.join('/')}`, `--${flag.name}`)
  }
  return { spec: out, setBy }
}
