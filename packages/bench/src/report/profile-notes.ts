/**
 * Where the client CPU goes, from a profiling session (not re-measured by
 * each run: callgrind on a real server takes minutes per contender). Kept
 * with the figures' date; redo it with profile.js and callgrind when the hot
 * path changes.
 */
export const PROFILE_NOTES: readonly string[] = [
  '## Where the client CPU goes (profile, 2026-11-27)',
  '',
  'Instructions the Node process executes per point select at concurrency 1, steady state: `valgrind --tool=callgrind` on `node --single-threaded`, ' +
    '6,000 warm-up selects, then the difference between 0 and 4,000 more (so start-up and warm-up cancel out). Unlike CPU time, these do not move with the load on the machine; ' +
    'they leave out the kernel (the socket work below).',
  '',
  '| instructions per point select | PostgreSQL | MariaDB |',
  '|---|--:|--:|',
  '| kysely-pooled | 119k (138k three commits earlier) | 100k |',
  '| stock Kysely dialect + driver pool | 132k–141k (two runs) | 115k |',
  '| ceiling: Kysely, no pool (round-robin) | 112k | 104k |',
  "| hygiene cycle (acquire, `select 1`, release; no Kysely), kysely-pooled reset 'auto' | 50.9k (0.82× stock) | 41.7k (1.03× stock) |",
  '| hygiene cycle, stock pool (no hygiene) | 62.1k | 40.5k |',
  '',
  'On MariaDB the clean release is at parity with the stock pool in instructions: the packet observation (one wrapper call per packet, a few byte reads per command) and the statement sniff ' +
    "(one anchored test and one scan per statement, about 0.1 µs) cost about what mysql2's pool spends on its callbacks and `process.nextTick` hand-overs; both allocate alike (58 vs 62 scavenges in 60,000 cycles). " +
    'The wall and CPU times per cycle in section 3 swing with the machine far more than that.',
  '',
  'A sampled profile (`node --cpu-prof packages/bench/dist/profile.js --c=64`, PostgreSQL) puts about 58 % of the client CPU in `writev`: ' +
    'the kernel sending on the loopback socket, which includes delivering the bytes to the server on the same machine. Then Kysely (building, compiling and freezing the query, about 10 %), ' +
    'the driver (pg protocol, parsing rows, about 10 %), promise ticks and GC (about 7 %); the pool and connector are 3–4 % ' +
    '(acquire and release with 54 callers queued about 1.4 µs; the session sniff of each statement up to 0.8 µs in the samples, flattening the SQL string included; the lease and connection objects).',
  '',
  "Repeat runs of the same build differ by up to 7 %: some JIT compilation still lands in the measured window. Within that, kysely-pooled runs at 0.85–0.90× the stock dialect's instructions and " +
    "within about 7k instructions (6 %) of the no-pool ceiling on PostgreSQL, at it on MariaDB. That gap is the pool's acquire + release (about 2.7k, section 4), the session sniff of each statement " +
    "(1.9k, measured by switching it off: one anchored test and one scan, plus flattening Kysely's concatenated SQL string earlier than the driver would), and the rest of the per-acquire work: " +
    'a Lease and a Kysely `DatabaseConnection` per acquire — Kysely registers each new connection object in a WeakSet — and the promise ticks of acquire and release.',
  '',
  'What a pool could still remove: (1) the per-acquire connection object (about 0.2 µs with its GC work), but one object per physical connection would let a connection kept past its release ' +
    '(a leaked `trx`) run on the next holder, and would stop garbage-collected leases from being reclaimed; (2) the promise and tick of an acquire that finds an idle connection (a synchronous hand-out); ' +
    '(3) the two clock reads per acquire + release (`performance.now()` is about 40 ns in Node 20, brand check included), which only a coarse clock could drop, blurring the wait and use figures; ' +
    "(4) the sniff, which is what lets a clean release cost no round trip on PostgreSQL. The kernel's socket work — most of the CPU time, and what makes CPU per operation swing with the load on the machine — " +
    'Kysely and the driver cost the same under any pool.',
  '',
]
