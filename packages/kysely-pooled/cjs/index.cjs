'use strict'
module.exports = require('./require-esm.cjs')('kysely-pooled', () => require('../dist/index.js'))
