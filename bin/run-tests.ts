#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) in its own process, one after another
// (the loop-device tests share the machine), and ends with one line: "N passed, N failed".
// Usage: node dist/bin/run-tests.js [substring ...]   (only files whose path contains one)
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { packageRoot } from '../lib/paths.js'

const dist = join(packageRoot, 'dist')
const filters = process.argv.slice(2)

function find(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return find(p)
    return e.name.endsWith('.test.js') ? [p] : []
  })
}

const files = find(dist)
  .filter((f) => !filters.length || filters.some((s) => f.includes(s)))
  .sort()

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colours
const ansi = /\u001b\[[0-9;]*m/g

function runFile(file: string): Promise<{ passed: number; failed: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: packageRoot,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    child.on('close', (code) => {
      const text = output.replace(ansi, '')
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? Number.NaN)
      const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? Number.NaN)
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // The file crashed before uvu could summarise: count it as one failure.
        resolve({ passed: 0, failed: 1, output: text })
        return
      }
      // total - passed: a skipped test is a defect here, so it counts as failed.
      let failed = total - passed
      if (code !== 0 && failed === 0) failed = 1
      resolve({ passed, failed, output: text })
    })
  })
}

let passed = 0
let failed = 0
const started = Date.now()
for (const file of files) {
  const t = Date.now()
  const r = await runFile(file)
  passed += r.passed
  failed += r.failed
  const name = relative(dist, file)
  const secs = ((Date.now() - t) / 1000).toFixed(1)
  if (r.failed) {
    process.stdout.write(`FAIL ${name} (${r.passed} passed, ${r.failed} failed, ${secs}s)\n${r.output}\n`)
  } else {
    process.stdout.write(`ok   ${name} (${r.passed} passed, ${secs}s)\n`)
  }
}
process.stdout.write(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
if (!files.length) failed += 1
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed ? 1 : 0
