import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CAC, cac } from 'cac'
import { CpsError, ExitCode, exitCodeOf } from './errors.js'
import { createLogger, type LogFormat, log, setLogger } from './log.js'
import { defaults, packageRoot } from './paths.js'
import type { RunDeps } from './run.js'
import { optionKey, specFlags } from './spec/flags.js'

const version: string = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version

/** Options every command shares. */
interface CommonOptions {
  json?: boolean
  logFormat?: string | string[]
  verbose?: boolean
  quiet?: boolean
  [flag: string]: unknown
}

const last = (v: unknown): string | undefined =>
  Array.isArray(v) ? v[v.length - 1] : v === undefined ? undefined : String(v)

function withSpecFlags(cmd: ReturnType<CAC['command']>) {
  for (const f of specFlags) cmd.option(`--${f.name} <${f.arg}>`, f.help, { type: [String] })
  return cmd
}

function specFlagValues(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of specFlags)
    if (options[optionKey(f)] !== undefined) out[optionKey(f)] = options[optionKey(f)]
  return out
}

async function loadFrom(file: string | undefined, options: Record<string, unknown>) {
  const { loadSpec } = await import('./spec/load.js')
  const flags = specFlagValues(options)
  if (!file && Object.keys(flags).length === 0)
    throw new CpsError('no spec given', {
      hint: 'pass a spec file (cps apply volume.yaml) or flags (--name data --tag app=x --size 10 --mount /data)',
    })
  return loadSpec({ file, flags })
}

function positiveSeconds(value: unknown, flag: string, fallback: number): number {
  const text = last(value)
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0)
    throw new CpsError(`flag ${flag}: expected a number of seconds, got "${text}"`)
  return n
}

/** Build the CLI. Parsing takes argv as a parameter so tests can call it. */
export function createCli(
  out: (text: string) => void = (t) => process.stdout.write(t),
  deps: RunDeps = {},
): { cli: CAC; result: { code: number }; run: (argv: string[]) => Promise<number> } {
  const result: { code: number } = { code: ExitCode.ok }
  const cli = cac('cps')

  cli
    .option('--json', 'Print the result as JSON on stdout')
    .option('--log-format <pretty|json>', 'log lines on stderr (default: pretty)', {
      type: [String],
    })
    .option('--verbose', 'Log debug detail')
    .option('--quiet', 'Log warnings and errors only')

  withSpecFlags(
    cli
      .command(
        'apply [file]',
        'Converge: find or create, claim, attach, format if provably blank, grow and mount',
      )
      .option(
        '--lock-timeout <seconds>',
        `wait this long for another cps run on this host (default: ${defaults.lockTimeoutSeconds})`,
        { type: [String] },
      )
      .example('cps apply volume.yaml')
      .example('cps apply --name data --tag app=demo --size 10 --fs xfs --mount /data'),
  ).action(async (file: string | undefined, options: CommonOptions) => {
    const spec = await loadFrom(file, options)
    const { reconcile } = await import('./run.js')
    const { renderHuman, renderJson } = await import('./plan/render.js')
    const timeout = positiveSeconds(options.lockTimeout, '--lock-timeout', defaults.lockTimeoutSeconds)
    const r = await reconcile(spec, { mode: 'apply', lockTimeoutMs: timeout * 1000 }, deps)
    out(options.json ? renderJson(r) : renderHuman(r))
    result.code = r.exitCode
  })

  withSpecFlags(
    cli
      .command('plan [file]', 'Show what apply would do; change nothing')
      .option('--detailed-exitcode', 'Exit 2 when there are changes (0: none, 1: error)')
      .example('cps plan volume.yaml --detailed-exitcode'),
  ).action(async (file: string | undefined, options: CommonOptions & { detailedExitcode?: boolean }) => {
    const spec = await loadFrom(file, options)
    const { reconcile, hasChanges } = await import('./run.js')
    const { renderHuman, renderJson } = await import('./plan/render.js')
    const r = await reconcile(spec, { mode: 'plan' }, deps)
    out(options.json ? renderJson(r) : renderHuman(r))
    result.code = r.exitCode || (options.detailedExitcode && hasChanges(r) ? ExitCode.changes : ExitCode.ok)
  })

  withSpecFlags(
    cli.command('validate [file]', 'Check a spec (file and flags) against the schema; touch nothing'),
  ).action(async (file: string | undefined, options: CommonOptions) => {
    const spec = await loadFrom(file, options)
    if (options.json) out(`${JSON.stringify(spec, null, 2)}\n`)
    else
      out(
        `${spec.source}: valid (${spec.volumes.length} volume${spec.volumes.length === 1 ? '' : 's'}: ${spec.volumes.map((v) => v.name).join(', ')})\n`,
      )
  })

  withSpecFlags(
    cli
      .command('status [file]', 'Show the checkpoint and, with a spec, what is live (read-only)')
      .example('cps status --state /var/lib/cps/state.json')
      .example('cps status volume.yaml'),
  ).action(async (file: string | undefined, options: CommonOptions) => {
    const { status } = await import('./status.js')
    const flags = specFlagValues(options)
    // --state alone only says which checkpoint to show; any other spec flag asks for the live view.
    const specGiven = !!file || Object.keys(flags).some((k) => k !== 'state')
    const spec = specGiven ? await loadFrom(file, options) : undefined
    const r = await status({ spec, statePath: last(options.state) ?? spec?.state ?? defaults.state }, deps)
    out(options.json ? `${JSON.stringify(r.data, null, 2)}\n` : r.text)
    result.code = r.exitCode
  })

  cli
    .command('schema', 'Print the JSON Schema of the spec (for editors: # yaml-language-server: $schema=...)')
    .action(async () => {
      const { schemaText } = await import('./spec/schema.js')
      out(schemaText())
    })

  cli.help((sections) => {
    sections.push({
      title: 'Exit codes',
      body: [
        '  0  ok (plan: no changes)',
        '  1  error: invalid spec or flag, or unexpected failure',
        '  2  plan --detailed-exitcode: there are changes',
        '  3  refused: a safety rule stopped cps (e.g. the device is not provably blank)',
        '  4  another cps run holds the host lock',
        '  5  provider error (volume catalog or cloud)',
        '  6  host command failed (losetup, mkfs, mount, ...)',
      ].join('\n'),
    })
  })
  cli.version(version)
  return { cli, result, run: (argv) => runCli(cli, result, argv, out) }
}

/** Run the CLI on argv (as process.argv); returns the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  return createCli().run(argv)
}

async function runCli(
  cli: CAC,
  result: { code: number },
  argv: string[],
  out: (text: string) => void,
): Promise<number> {
  let json = false
  try {
    const parsed = cli.parse(argv, { run: false })
    const o = parsed.options as CommonOptions
    json = !!o.json
    const format = (last(o.logFormat) ?? 'pretty') as LogFormat
    if (format !== 'pretty' && format !== 'json')
      throw new CpsError(`flag --log-format: expected pretty or json, got "${format}"`)
    setLogger(createLogger(format, o.verbose ? 4 : o.quiet ? 1 : 3))
    if (!cli.matchedCommand) {
      if (parsed.options.help || parsed.options.version) return ExitCode.ok
      if (cli.args.length)
        throw new CpsError(`unknown command "${cli.args[0]}"`, { hint: 'run cps --help for the commands' })
      cli.outputHelp()
      return ExitCode.error
    }
    await cli.runMatchedCommand()
    return result.code
  } catch (err) {
    if (err instanceof CpsError) {
      log.error(err.message)
      if (err.hint) log.info(`hint: ${err.hint}`)
      // With --json, stdout still gets one JSON document: the error, with every spec problem.
      if (json) out(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`)
    } else if (err instanceof Error && err.name === 'CACError') {
      // cac names options camelCased: say them as they are typed.
      const typed = err.message.replace(
        /--([a-z]+[A-Z][A-Za-z]*)/g,
        (_, n: string) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      )
      log.error(`${typed}; run cps --help`)
      return ExitCode.error
    } else {
      log.error(err)
    }
    return exitCodeOf(err)
  }
}
