#!/usr/bin/env node
// Regenerates lib/spec/spec.gen.ts from schemas/cps.schema.json (npm run gen).
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generatedTypesPath, generateTypes } from '../lib/spec/gen.js'

await writeFile(generatedTypesPath, await generateTypes())
console.log(`wrote ${join('lib', 'spec', 'spec.gen.ts')}`)
