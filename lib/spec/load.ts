import { readFile } from 'node:fs/promises'
import { type Document, LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../errors.js'
import { defaults } from '../paths.js'
import { applyFlags } from './flags.js'
import { formatLocation, type Location, locate, pointerKeys } from './locate.js'
import { type ErrorObject, validator } from './schema.js'
import type { Spec } from './spec.gen.js'
import type { ProviderConfig, ResolvedSpec, ResolvedVolume } from './types.js'

/** One problem found in a spec, with where it is. */
export interface SpecProblem {
  location: Location
  /** JSON pointer into the spec, e.g. /volumes/0/mount/path. */
  pointer: string
  message: string
}

/** An invalid spec: every problem found, each with file:line:col and the JSON path. */
export class SpecError extends ConfigError {
  readonly problems: SpecProblem[]
  constructor(problems: SpecProblem[], hint?: string) {
    const lines = problems.map((p) => `${formatLocation(p.location)}: ${p.pointer || '/'}: ${p.message}`)
    super(lines.join('\n'), {
      hint: hint ?? 'fix the spec; `cps schema` prints every field with its description',
    })
    this.problems = problems
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems }
  }
}

export interface LoadOptions {
  /** Path of the YAML spec; absent when the spec is given by flags alone. */
  file?: string
  /** Parsed CLI options (camelCase), applied over the file. */
  flags?: Record<string, unknown>
}

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value))

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  return `${typeof value} ${show(value)}`
}

function messageFor(e: ErrorObject, spec: unknown): string {
  const p = e.params as Record<string, unknown>
  const description = (e.parentSchema as { description?: string } | undefined)?.description
  switch (e.keyword) {
    case 'required':
      return `missing required field "${p.missingProperty}"`
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {})
      return `unknown field "${p.additionalProperty}"; expected one of: ${allowed.join(', ')}`
    }
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).join(', ')} (got ${show(e.data)})`
    case 'const':
      return `must be ${show(p.allowedValue)} (got ${show(e.data)})`
    case 'type': {
      const quote = p.type === 'string' && typeof e.data === 'number' ? '; quote it, e.g. "0750"' : ''
      return `must be ${p.type === 'integer' ? 'an integer' : `of type ${p.type}`} (got ${describeType(e.data)}${quote})`
    }
    case 'pattern':
      return `invalid value ${show(e.data)}${description ? `: ${description}` : ` (must match ${p.pattern})`}`
    case 'minimum':
    case 'maximum':
      return `must be ${p.comparison} ${p.limit} (got ${show(e.data)})`
    case 'minLength':
      return `must not be empty`
    case 'maxLength':
      return `must be at most ${p.limit} characters (got ${String(e.data).length})`
    case 'minItems':
      return `must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}`
    case 'maxItems':
      return `must have at most ${p.limit} items`
    case 'minProperties':
    case 'maxProperties':
      return e.instancePath === '/provider'
        ? `must name exactly one provider (got ${Object.keys(e.data as object).length})`
        : `must have ${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${p.limit} entries`
    case 'uniqueItems':
      return `must not repeat items (items ${Math.min(Number(p.i), Number(p.j))} and ${Math.max(Number(p.i), Number(p.j))} are equal)`
    case 'false schema': {
      // Only the per-volume-type rules use false schemas: name the type.
      const create = pointerKeys(e.instancePath.slice(0, e.instancePath.lastIndexOf('/'))).reduce<unknown>(
        (node, k) => (node as Record<string | number, unknown> | undefined)?.[k],
        spec,
      ) as { type?: string } | undefined
      return `is not allowed for volume type ${create?.type ?? 'gp3'}`
    }
    case 'propertyNames':
      return `invalid key "${p.propertyName}"${description ? `: ${description}` : ''}`
    default:
      return e.message ?? e.keyword
  }
}

interface Parsed {
  doc?: Document
  counter?: LineCounter
  data?: unknown
}

async function parseFile(file: string): Promise<Parsed> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw new ConfigError(`cannot read spec file ${file}: ${code ?? cause}`, {
      cause,
      hint: code === 'ENOENT' ? 'check the path, or give the spec by flags alone (see --help)' : undefined,
    })
  }
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true })
  const bad = doc.errors[0]
  if (bad) {
    const pos = counter.linePos(bad.pos[0])
    const what = bad.message.split('\n')[0] ?? bad.code
    throw new SpecError([
      { location: { file, line: pos.line, col: pos.col }, pointer: '', message: `YAML syntax: ${what}` },
    ])
  }
  return { doc, counter, data: doc.toJS() }
}

/** Problems the schema cannot express: uniqueness across volumes, reserved mount points. */
function crossChecks(spec: Spec, where: (pointer: string, key?: string) => Location): SpecProblem[] {
  const problems: SpecProblem[] = []
  const names = new Map<string, number>()
  const paths = new Map<string, number>()
  const local = !spec.provider?.aws
  spec.volumes.forEach((vol, i) => {
    if (local)
      for (const key of ['type', 'iops', 'throughputMiBps', 'encrypted', 'kmsKeyId', 'snapshot'] as const)
        if (vol.create?.[key] !== undefined) {
          const pointer = `/volumes/${i}/create/${key}`
          problems.push({
            location: where(pointer),
            pointer,
            message: `create.${key} applies to the aws provider only`,
          })
        }
    const seen = names.get(vol.name)
    if (seen !== undefined) {
      const pointer = `/volumes/${i}/name`
      problems.push({
        location: where(pointer),
        pointer,
        message: `duplicate volume name "${vol.name}" (also volumes[${seen}])`,
      })
    } else names.set(vol.name, i)
    const path = vol.mount.path
    const pointer = `/volumes/${i}/mount/path`
    const other = paths.get(path)
    if (other !== undefined)
      problems.push({
        location: where(pointer),
        pointer,
        message: `mount path ${path} is also used by volumes[${other}]`,
      })
    else paths.set(path, i)
    if (/^\/(proc|sys|dev|run)(\/|$)/.test(path))
      problems.push({
        location: where(pointer),
        pointer,
        message: `mount path ${path} is under a kernel filesystem (/proc, /sys, /dev, /run)`,
      })
    // A consensus claim must outlive its wait and the re-read after it, or it can never be won.
    const { waitSeconds: wait, lockTimeoutSeconds: timeout } = consensusOf(vol)
    if (timeout < 2 * wait) {
      // Point at the timeout if it was given (in the file or by a flag), else at the wait.
      const given = (ptr: string) =>
        formatLocation(where(ptr)) !== formatLocation(where(`/volumes/${i}/consensus`))
      const lockAt = `/volumes/${i}/consensus/lockTimeoutSeconds`
      const at = given(lockAt) ? lockAt : `/volumes/${i}/consensus/waitSeconds`
      problems.push({
        location: where(at),
        pointer: at,
        message: `consensus.lockTimeoutSeconds (${timeout}) must be at least twice consensus.waitSeconds (${wait}): a claim must outlive the wait and the re-read after it`,
      })
    }
  })
  return problems
}

/** A volume's consensus tuning with its defaults (the schema fills them only inside a given map). */
function consensusOf(vol: Spec['volumes'][number]): ResolvedVolume['consensus'] {
  return {
    waitSeconds: vol.consensus?.waitSeconds ?? 30,
    lockTimeoutSeconds: vol.consensus?.lockTimeoutSeconds ?? 180,
  }
}

function resolve(spec: Spec, source: string): ResolvedSpec {
  const aws = spec.provider?.aws
  const provider: ProviderConfig = aws
    ? { kind: 'aws', region: aws.region, endpoint: aws.endpoint }
    : { kind: 'local', dir: spec.provider?.local?.dir ?? defaults.localDir }
  return {
    source,
    state: spec.state ?? defaults.state,
    provider,
    volumes: spec.volumes.map(
      (v): ResolvedVolume => ({
        name: v.name,
        poolTags: { ...v.pool.tags },
        sizeGiB: v.create?.sizeGiB,
        createOptions: {
          type: v.create?.type,
          iops: v.create?.iops,
          throughputMiBps: v.create?.throughputMiBps,
          encrypted: v.create?.encrypted ?? (v.create?.kmsKeyId ? true : undefined),
          kmsKeyId: v.create?.kmsKeyId,
          snapshot: v.create?.snapshot,
        },
        filesystem: {
          type: v.filesystem?.type ?? 'ext4',
          format: v.filesystem?.format ?? 'if-created',
          label: v.filesystem?.label,
          mkfsOptions: v.filesystem?.mkfsOptions ?? [],
        },
        mount: {
          path: v.mount.path,
          options: v.mount.options ?? [],
          owner: v.mount.owner,
          mode: v.mount.mode,
        },
        resize: v.resize ?? 'grow',
        claim: v.claim ?? 'optimistic',
        consensus: consensusOf(v),
      }),
    ),
  }
}

/**
 * Load a spec from a YAML file and/or flags, validate it against the schema and return it
 * with defaults filled in. Throws SpecError naming file:line:col (or the flag) on any problem;
 * it touches nothing but the file it reads.
 */
export async function loadSpec(opts: LoadOptions): Promise<ResolvedSpec> {
  const file = opts.file ?? '<flags>'
  const parsed: Parsed = opts.file ? await parseFile(opts.file) : {}
  if (opts.file && (parsed.data === null || typeof parsed.data !== 'object' || Array.isArray(parsed.data)))
    throw new SpecError([
      {
        location: { line: 1, col: 1, ...locate(parsed.doc, parsed.counter, file, []) },
        pointer: '',
        message: `the spec must be a map with apiVersion and volumes (got ${describeType(parsed.data ?? null)})`,
      },
    ])
  const { spec, setBy } = applyFlags(parsed.data as Record<string, unknown> | undefined, opts.flags ?? {})

  // A value set by a flag is reported at the flag; anything else at its place in the file.
  const where = (pointer: string, key?: string): Location => {
    const target = key === undefined ? pointer : `${pointer}/${key}`
    for (let p = target; p; p = p.slice(0, p.lastIndexOf('/'))) {
      const flag = setBy.get(p)
      if (flag) return { file, flag }
    }
    return locate(parsed.doc, parsed.counter, file, pointerKeys(pointer), key)
  }

  const validate = await validator()
  if (!validate(spec)) {
    const problems: SpecProblem[] = []
    const seen = new Set<string>()
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'if' || e.keyword === 'allOf') continue
      const p = e.params as Record<string, string>
      const key = p.additionalProperty ?? p.propertyName
      const child = key && e.keyword !== 'propertyNames' ? key : p.missingProperty
      const pointer = child ? `${e.instancePath}/${child}` : e.instancePath
      let location = where(e.instancePath, key)
      if (e.keyword === 'required' && !opts.file) {
        const flag = missingFlag(`${e.instancePath}/${p.missingProperty}`)
        if (flag) location = { file, flag }
      }
      const problem = { location, pointer, message: messageFor(e, spec) }
      const id = `${formatLocation(location)}|${pointer}|${problem.message}`
      if (e.keyword === 'pattern' && e.propertyName !== undefined) continue // reported by propertyNames
      if (seen.has(id)) continue
      seen.add(id)
      problems.push(problem)
    }
    // In file order, as an editor would list them; flag problems first.
    problems.sort(
      (a, b) =>
        (a.location.line ?? 0) - (b.location.line ?? 0) || (a.location.col ?? 0) - (b.location.col ?? 0),
    )
    throw new SpecError(problems)
  }
  const valid = spec as unknown as Spec
  const problems = crossChecks(valid, where)
  if (problems.length) throw new SpecError(problems)
  return resolve(valid, file)
}

/** With no file, a missing required field is best explained as the flag that sets it. */
function missingFlag(pointer: string): string | undefined {
  const byPointer: Record<string, string> = {
    '/volumes/0/name': '--name',
    '/volumes/0/pool': '--tag',
    '/volumes/0/mount': '--mount',
    '/volumes/0/mount/path': '--mount',
    '/volumes/0/create/sizeGiB': '--size',
  }
  return byPointer[pointer]
}
