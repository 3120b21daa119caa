#!/usr/bin/env node
import { processIo } from './cli-io.js'
import { runCli } from './run-cli.js'

// exitCode rather than process.exit(): let stdout drain when it is a pipe.
process.exitCode = await runCli(process.argv.slice(2), processIo)
