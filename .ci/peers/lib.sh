# Shared by the .ci/peers scripts (sourced, not run). Each peer script sets
# PEER (the name it reports) before sourcing this file.
#
# Everything a peer downloads or keeps (packages, unpacked binaries, data
# directories, logs) lives under PEERS_HOME, outside the checkout, so a
# second run reuses it and `git clean` never throws it away.
set -euo pipefail

PEERS_HOME=${PASSKEYCTL_PEERS_HOME:-/var/cache/passkeyctl-peers}
# psql's readiness probes give up on a port that accepts and never answers.
export PGCONNECT_TIMEOUT=5
mkdir -p "$PEERS_HOME"

# fail prints the one line CI shows when a peer cannot be had, and stops.
fail() {
	echo "peer $PEER: $*" >&2
	exit 1
}

# say reports progress on stderr, prefixed with the peer.
say() {
	echo "peer $PEER: $*" >&2
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_for SECONDS COMMAND...: run COMMAND once a second until it succeeds.
wait_for() {
	local secs=$1
	shift
	for _ in $(seq 1 "$secs"); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# as_service_user COMMAND...: run COMMAND as the `postgres` OS user when we
# are root (initdb and postgres refuse to run as root), else as ourselves.
as_service_user() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# service_user_owns DIR: hand DIR to the user as_service_user runs as.
service_user_owns() {
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres: "$1"
	fi
}

# npm_unpack PACKAGE@VERSION DIR: unpack an npm package's tarball into DIR
# (once; the tarball stays in npm's cache).
npm_unpack() {
	local spec=$1 dir=$2
	[ -f "$dir/.complete" ] && return 0
	command -v npm >/dev/null || fail "npm is not installed (apt-get install npm)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	local tgz
	tgz=$(cd "$dir.tmp" && npm pack --loglevel=error "$spec" 2>"$dir.tmp/npm.err" | tail -1) || true
	[ -n "$tgz" ] && [ -f "$dir.tmp/$tgz" ] ||
		fail "cannot download npm package $spec: $(grep -m1 . "$dir.tmp/npm.err")"
	tar -xzf "$dir.tmp/$tgz" -C "$dir.tmp" || fail "cannot unpack $tgz"
	rm -f "$dir.tmp/$tgz" "$dir.tmp/npm.err"
	mv "$dir.tmp" "$dir"
	touch "$dir/.complete"
}

# debian_root SUITE PACKAGE DIR: download PACKAGE from Debian's SUITE with
# its whole dependency closure (resolved now, from a private apt state: the
# suite moves, so no file name is pinned) and unpack every .deb into DIR.
# The binaries there are then run through DIR's own dynamic loader, so a
# newer libc than the machine's does not matter.
debian_root() {
	local suite=$1 pkg=$2 root=$3
	[ -f "$root/.complete" ] && return 0
	local apt="$PEERS_HOME/apt-$suite"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	# The machine's own mirror (what apt-get update already reaches).
	local mirror
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	if [ -z "$mirror" ]; then
		mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
	fi
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$apt/sources.list"
	local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Dir::State::status=/dev/null
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root)
	say "resolving $pkg from Debian $suite ($mirror)"
	apt-get -qq "${opts[@]}" --error-on=any update >/dev/null 2>"$apt/update.err" ||
		fail "cannot read Debian $suite package lists from $mirror: $(grep -m1 '^[EW]:' "$apt/update.err")"
	local closure
	closure=$(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$pkg" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u) ||
		fail "Debian $suite has no package $pkg"
	[ -n "$closure" ] || fail "Debian $suite has no package $pkg"
	local debs="$apt/debs-$pkg"
	rm -rf "$debs" && mkdir -p "$debs"
	# shellcheck disable=SC2086
	(cd "$debs" && apt-get -qq "${opts[@]}" download $closure >/dev/null 2>"$apt/download.err") ||
		fail "cannot download $pkg and its dependencies from Debian $suite: $(tail -1 "$apt/download.err")"
	rm -rf "$root" "$root.tmp" && mkdir -p "$root.tmp"
	for deb in "$debs"/*.deb; do
		dpkg-deb -x "$deb" "$root.tmp" || fail "cannot unpack $(basename "$deb")"
	done
	say "unpacked $(ls "$debs" | wc -l) packages ($(du -sh "$debs" | cut -f1)) into $root"
	rm -rf "$debs"
	mv "$root.tmp" "$root"
	touch "$root/.complete"
}

# in_root ROOT PROGRAM ARGS...: run ROOT's PROGRAM with ROOT's loader and
# libraries.
in_root() {
	local root=$1 prog=$2
	shift 2
	"$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
		--library-path "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
		"$root$prog" "$@"
}
