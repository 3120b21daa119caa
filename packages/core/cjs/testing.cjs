'use strict'
module.exports = require('./require-esm.cjs')('@kysely-pooled/core/testing', () => require('../dist/testing/index.js'))
