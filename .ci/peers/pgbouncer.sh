# PgBouncer (Debian's package) in transaction pooling mode in front of the
# machine's PostgreSQL on 127.0.0.1:5432 (sourced by pgbouncer-a and
# pgbouncer-b, which set PEER, PGB_PORT and PGB_EXTRA: extra ini lines).
# Each instance has its own config, pid and log directory under PEERS_HOME.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="$PEERS_HOME/$PEER"

ready() { port_open 127.0.0.1 "$PGB_PORT" && psql -h 127.0.0.1 -p "$PGB_PORT" -U postgres -d test -tAc 'SELECT 1' >/dev/null 2>&1; }

if ! ready; then
	port_open 127.0.0.1 "$PGB_PORT" && fail "port $PGB_PORT is taken, but a query through it fails (is PostgreSQL 15 up on 127.0.0.1:5432?)"
	if ! command -v pgbouncer >/dev/null; then
		if [ "$(id -u)" = 0 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null 2>&1 ||
				{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null 2>&1; } ||
				fail "apt-get install pgbouncer failed"
		else
			fail "pgbouncer is not installed (apt-get install pgbouncer)"
		fi
	fi
	pgbouncer --version | grep -q '^PgBouncer 1\.' || fail "pgbouncer --version: $(pgbouncer --version 2>&1 | head -1)"
	port_open 127.0.0.1 5432 || fail "PostgreSQL is not running on 127.0.0.1:5432 (start it first: .ci/run does)"
	mkdir -p "$dir"
	echo '"postgres" ""' >"$dir/userlist.txt"
	cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 400
max_db_connections = 0
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
$PGB_EXTRA
INI
	service_user_owns "$dir"
	rm -f "$dir/pgbouncer.pid"
	as_service_user pgbouncer -d -q "$dir/pgbouncer.ini" || fail "did not start: $(tail -1 "$dir/pgbouncer.log")"
	wait_for 30 ready || fail "started but queries through 127.0.0.1:$PGB_PORT fail: $(tail -1 "$dir/pgbouncer.log")"
fi
echo "peer $PEER: $(pgbouncer --version | head -1) on 127.0.0.1:$PGB_PORT (transaction pooling${PGB_EXTRA:+, $PGB_EXTRA}) in front of 127.0.0.1:5432" >&2
