'use strict'
module.exports = require('./require-esm.cjs')('@kysely-pooled/core', () => require('../dist/index.js'))
