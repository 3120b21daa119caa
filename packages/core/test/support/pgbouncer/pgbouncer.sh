#!/usr/bin/env bash
# Starts or stops a PgBouncer for the tests (transaction mode, loopback only).
#
#   pgbouncer.sh start RUN_DIR [POOL_SIZE]   prints the port; idempotent: a live
#                                            instance in RUN_DIR is reused
#   pgbouncer.sh stop RUN_DIR                stops it and removes RUN_DIR
#
# Upstream: PG_URL's host and port (default 127.0.0.1:5432). Runs as the
# `postgres` OS user when started by root (PgBouncer refuses to run as root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"
run_dir="${2:-}"
[ -n "$command" ] && [ -n "$run_dir" ] || { echo "usage: $0 start|stop RUN_DIR [POOL_SIZE]" >&2; exit 2; }

alive() { [ -f "$run_dir/pgbouncer.pid" ] && kill -0 "$(cat "$run_dir/pgbouncer.pid")" 2>/dev/null; }

case "$command" in
  start)
    if alive && [ -f "$run_dir/port" ]; then cat "$run_dir/port"; exit 0; fi
    command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || {
      echo "pgbouncer is not installed (Debian/Ubuntu: apt-get install -y pgbouncer)" >&2; exit 3; }
    bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
    pool_size="${3:-20}"
    upstream="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
    read -r pg_host pg_port pg_database < <(node -e '
      const u = new URL(process.argv[1]);
      console.log(u.hostname || "127.0.0.1", u.port || "5432", decodeURIComponent(u.pathname.slice(1)) || "postgres")' "$upstream")
    # A free loopback port (the kernel picks; the tiny race with another binder is acceptable for tests).
    port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')"
    mkdir -p "$run_dir"
    cp "$here/userlist.txt" "$run_dir/userlist.txt"
    sed -e "s|@PG_HOST@|$pg_host|g" -e "s|@PG_PORT@|$pg_port|g" -e "s|@PG_DATABASE@|$pg_database|g" \
        -e "s|@PORT@|$port|g" -e "s|@POOL_SIZE@|$pool_size|g" -e "s|@RUN_DIR@|$run_dir|g" \
        "$here/pgbouncer.ini.in" > "$run_dir/pgbouncer.ini"
    rm -f "$run_dir/pgbouncer.pid"
    if [ "$(id -u)" = 0 ]; then
      chown -R postgres "$run_dir"
      "$bin" -d -u postgres "$run_dir/pgbouncer.ini" >&2
    else
      "$bin" -d "$run_dir/pgbouncer.ini" >&2
    fi
    for _ in $(seq 1 100); do
      if alive && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$port" > "$run_dir/port"
        echo "$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "pgbouncer did not start; its log:" >&2
    cat "$run_dir/pgbouncer.log" >&2 2>/dev/null || true
    exit 1
    ;;
  stop)
    if alive; then
      pid="$(cat "$run_dir/pgbouncer.pid")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$run_dir"
    ;;
  *)
    echo "usage: $0 start|stop RUN_DIR [POOL_SIZE]" >&2; exit 2
    ;;
esac
