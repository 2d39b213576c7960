import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js'
import { packageRoot } from '../paths.js'

/** Path of the JSON Schema, the single source of truth for the spec. */
export const schemaPath = join(packageRoot, 'schemas', 'cps.schema.json')

/** Where the build writes the precompiled validator: loading it costs ~10 ms, ajv ~150 ms. */
export const compiledValidatorPath = join(packageRoot, 'dist', 'lib', 'spec', 'validate.gen.js')

/** The schema as text, as `cps schema` prints it. */
export function schemaText(): string {
  return readFileSync(schemaPath, 'utf8')
}

const options = { allErrors: true, useDefaults: true, verbose: true, strict: true } as const

type StandaloneCode = (ajv: unknown, validate: ValidateFunction) => string

/** ESM source of a standalone validator for the schema (it fills in defaults as it validates). */
export async function validatorSource(): Promise<string> {
  const { Ajv2020 } = await import('ajv/dist/2020.js')
  const mod = (await import('ajv/dist/standalone/index.js')) as unknown as {
    default: StandaloneCode | { default: StandaloneCode }
  }
  // ajv ships CommonJS: under Node's ESM interop its default export may arrive wrapped.
  const standaloneCode = typeof mod.default === 'function' ? mod.default : mod.default.default
  const ajv = new Ajv2020({ ...options, code: { source: true, esm: true } })
  const source = standaloneCode(ajv, ajv.compile(JSON.parse(schemaText())))
  // ajv's ESM output still require()s its runtime helpers: import them instead.
  const imports: string[] = []
  const body = source.replace(
    /const (\w+) = require\("(ajv\/dist\/runtime\/[\w-]+)"\)\.default;/g,
    (_: string, name: string, path: string) => {
      imports.push(`import ${name}$mod from "${path}.js";`)
      return `const ${name} = ${name}$mod.default;`
    },
  )
  return `// DO NOT MODIFY BY HAND: generated from schemas/cps.schema.json at build time.\n${imports.join('\n')}\n${body}\n`
}

let loaded: ValidateFunction | undefined

/** The validator: the precompiled one from the build, else compiled now (a source checkout). */
export async function validator(): Promise<ValidateFunction> {
  if (loaded) return loaded
  try {
    loaded = (await import(pathToFileURL(compiledValidatorPath).href)).validate as ValidateFunction
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err
    const { Ajv2020 } = await import('ajv/dist/2020.js')
    loaded = new Ajv2020(options).compile(JSON.parse(schemaText()))
  }
  return loaded
}

export type { ErrorObject }
