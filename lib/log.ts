import { type ConsolaInstance, createConsola, type LogObject } from 'consola'

export type LogFormat = 'pretty' | 'json'

/** One JSON object per line on stderr: for journald and CloudWatch. */
const jsonReporter = {
  log(obj: LogObject) {
    const {
      date,
      type,
      tag,
      args,
      level: _level,
      message: _m,
      additional: _a,
      ...fields
    } = obj as LogObject & Record<string, unknown>
    const [first, ...rest] = args
    const line: Record<string, unknown> = {
      time: date.toISOString(),
      level: type,
      ...(tag && { volume: tag }),
      msg: typeof first === 'string' ? first : first instanceof Error ? first.message : JSON.stringify(first),
      ...fields,
    }
    for (const extra of rest) if (extra && typeof extra === 'object') Object.assign(line, extra)
    process.stderr.write(`${JSON.stringify(line)}\n`)
  },
}

/** Logs go to stderr, so stdout stays clean for plans and --json. */
export function createLogger(format: LogFormat = 'pretty', level = 3): ConsolaInstance {
  return createConsola({
    stdout: process.stderr,
    stderr: process.stderr,
    level,
    ...(format === 'json' && { reporters: [jsonReporter] }),
    formatOptions: { date: false, compact: true },
  })
}

export let log: ConsolaInstance = createLogger()

/** Replace the process-wide logger (the CLI does this once, from --log-format). */
export function setLogger(next: ConsolaInstance): void {
  log = next
}
