'use strict'
module.exports = require('./require-esm.cjs')('@kysely-pooled/core/opentelemetry', () => require('../dist/opentelemetry/index.js'))
