#!/usr/bin/env node
// Writes the precompiled spec validator into dist/ (run by `npm run build`).
import { writeFile } from 'node:fs/promises'
import { compiledValidatorPath, validatorSource } from '../lib/spec/schema.js'

await writeFile(compiledValidatorPath, await validatorSource())
