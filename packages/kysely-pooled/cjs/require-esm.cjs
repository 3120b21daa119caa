'use strict'

/**
 * kysely-pooled is an ES module. Node 20.19+ and 22.12+ can require() it (no
 * top-level await in it); older versions get this message instead of
 * ERR_REQUIRE_ESM.
 */
module.exports = function requireEsm(specifier, load) {
  if (!process.features || !process.features.require_module) {
    throw new Error(
      `${specifier} is an ES module: require() of it needs Node 20.19+ or 22.12+ (require of ES modules is not available in this Node, ${process.version}). ` +
        `Use \`await import('${specifier}')\`, or upgrade Node.`,
    )
  }
  return load()
}
