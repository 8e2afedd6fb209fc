#!/usr/bin/env bash
# A private PostgreSQL server for the tests: initdb into a temporary directory, listen on
# 127.0.0.1 on a free port (and a unix socket in that directory), trust authentication for the
# superuser "rspkit", no fsync (a test server: the crash tests kill clients, never this server).
#
#   scripts/pg.sh start            prints the directory of the new server (stdout)
#   scripts/pg.sh env DIR          prints `export RSP_TEST_PG=postgresql://...` for it
#   scripts/pg.sh stop DIR         stops it and removes DIR
#   scripts/pg.sh run -- CMD...    start, run CMD with RSP_TEST_PG set, stop; CMD's exit status
#
# RSP_TEST_PG is the URL of the server's "postgres" database; tests create their own databases
# in it. The server refuses to run as root: as root, it runs as the unprivileged user
# PG_USER (default "postgres", created by the Debian package) and DIR belongs to that user.
set -euo pipefail

PG_USER=${PG_USER:-postgres}
log() { echo "pg.sh: $*" >&2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    log "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (Debian package postgresql; scripts/deps.sh installs it)"
    return 1
  fi
  echo "$d"
}

# Runs a command as the server's user (root cannot run the server).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

port_free() { # port
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local bin dir port tries
  bin=$(bindir)
  # as root, under /tmp: the server's user must be able to reach the directory
  if [ "$(id -u)" -eq 0 ]; then
    dir=$(mktemp -d /tmp/rspkit-pg.XXXXXX)
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/rspkit-pg.XXXXXX")
  fi
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    if ! id "$PG_USER" >/dev/null 2>&1; then
      log "user $PG_USER does not exist (it comes with the Debian package postgresql-common)"
      rm -rf "$dir"
      return 1
    fi
    chown "$PG_USER" "$dir"
  fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -U rspkit --auth=trust -E UTF8 --locale=C \
      >"$dir/initdb.log" 2>&1; then
    log "initdb failed:"; cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    return 1
  fi
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 12000 ))
    port_free "$port" || continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null 2>&1; then
      echo "$port" > "$dir/port"
      log "PostgreSQL $(basename "$(dirname "$bin")") on 127.0.0.1:$port (directory $dir)"
      echo "$dir"
      return 0
    fi
    log "start on port $port failed (attempt $tries)"
  done
  tail -n 20 "$dir/server.log" >&2 || true
  rm -rf "$dir"
  return 1
}

envline() { # dir
  local port
  port=$(cat "$1/port")
  echo "export RSP_TEST_PG='postgresql://rspkit@127.0.0.1:$port/postgres'"
}

stop() { # dir
  local dir=$1 bin
  [ -d "$dir/data" ] || { log "$dir is not a server directory"; return 1; }
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  case "$dir" in
    */rspkit-pg.*) rm -rf "$dir" ;;
  esac
}

case "${1:-}" in
  start) start ;;
  env) [ $# -eq 2 ] || { log "usage: pg.sh env DIR"; exit 2; }; envline "$2" ;;
  stop) [ $# -eq 2 ] || { log "usage: pg.sh stop DIR"; exit 2; }; stop "$2" ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || { log "usage: pg.sh run -- CMD..."; exit 2; }
    dir=$(start)
    trap 'stop "$dir"' EXIT
    eval "$(envline "$dir")"
    set +e
    "$@"
    exit $?
    ;;
  *) echo "usage: scripts/pg.sh start | env DIR | stop DIR | run -- CMD..." >&2; exit 2 ;;
esac
