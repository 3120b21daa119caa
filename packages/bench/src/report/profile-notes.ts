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
  '| kysely-pooled | 137.9k (0.98× stock) | 101.9k (0.89× stock) |',
  '| stock Kysely dialect + driver pool | 141.0k | 114.6k |',
  '| ceiling: Kysely, no pool (round-robin) | 112.0k | 104.2k |',
  '| hygiene cycle (acquire, `select 1`, release; no Kysely), kysely-pooled reset \'auto\' | 50.9k (0.82× stock) | 41.7k (1.03× stock) |',
  '| hygiene cycle, stock pool (no hygiene) | 62.1k | 40.5k |',
  '',
  'On MariaDB the clean release is at parity with the stock pool in instructions: the packet observation (one wrapper call per packet, a few byte reads per command) and the statement sniff ' +
    '(one anchored test and one scan per statement, about 0.1 µs) cost about what mysql2\'s pool spends on its callbacks and `process.nextTick` hand-overs; both allocate alike (58 vs 62 scavenges in 60,000 cycles). ' +
    'The wall and CPU times per cycle in section 3 swing with the machine far more than that.',
  '',
  'A sampled profile (`node --cpu-prof packages/bench/dist/profile.js --c=64`, PostgreSQL) puts about 58 % of the client CPU in `writev`: ' +
    'the kernel sending on the loopback socket, which includes delivering the bytes to the server on the same machine. Then Kysely (building, compiling and freezing the query, about 10 %), ' +
    'the driver (pg protocol, parsing rows, about 10 %), promise ticks and GC (about 7 %); the pool and connector are 3–4 % ' +
    '(acquire and release with 54 callers queued about 1.4 µs, the session sniff of each statement 0.1–0.3 µs, the lease and connection objects).',
  '',
  'The gap to the no-pool ceiling on PostgreSQL (about 26k instructions per select) is mostly not the pool: the pool itself is about 2.7k per acquire + release ' +
    '(section 4); in the callgrind difference the stock dialect and ours are both still compiling (TurboFan, about 13k per select — partly an artefact of valgrind, where timers fire fifty times more often per operation) where the ceiling is not, ' +
    'and ours spends about 3k more in the garbage collector: a Lease and a Kysely `DatabaseConnection` per acquire, and Kysely registers every new connection object in a WeakSet. ' +
    'What a pool could still remove: (1) that per-acquire connection object (about 0.2 µs and the GC work), but one object per physical connection would let a connection kept past its release ' +
    '(a leaked `trx`) run on the next holder and would stop garbage-collected leases from being reclaimed; (2) the promise and tick of an acquire that finds an idle connection (a synchronous hand-out); ' +
    '(3) the two clock reads per acquire + release (`performance.now()` is about 40 ns in Node 20, brand check included), which only a coarse clock could drop, blurring the wait and use figures; ' +
    '(4) the statement sniff, which is what makes a clean release cost no round trip on PostgreSQL. The kernel\'s socket work, Kysely and the driver cost the same under any pool.',
  '',
]
