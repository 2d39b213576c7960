import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { packageRoot } from '../paths.js'

/** Path of the JSON Schema, the single source of truth for the spec. */
export const schemaPath = join(packageRoot, 'schemas', 'cps.schema.json')

let compiled: ValidateFunction | undefined

/** The schema as text, as `cps schema` prints it. */
export function schemaText(): string {
  return readFileSync(schemaPath, 'utf8')
}

/** The compiled validator. It fills in defaults as it validates. */
export function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true })
    compiled = ajv.compile(JSON.parse(schemaText()))
  }
  return compiled
}

export type { ErrorObject }
