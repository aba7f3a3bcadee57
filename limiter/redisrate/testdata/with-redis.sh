#!/usr/bin/env bash
# with-redis.sh CMD [ARG...] runs CMD with WEFT_REDIS_URL pointing at a
# throwaway redis-server (a unix socket in a temporary directory, persistence
# off), and stops the server afterwards, whether CMD succeeds or not.
# If redis-server is missing it installs Debian's package when running as
# root (CI), and otherwise fails saying how to install it.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
	if [ "$EUID" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "with-redis.sh: installing redis-server" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
	else
		echo "with-redis.sh: redis-server not found; the limiter/redisrate tests need it." >&2
		echo "  Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis" >&2
		exit 1
	fi
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/weft-redis-XXXXXX")
sock="$dir/redis.sock"
redis-server --port 0 --unixsocket "$sock" --dir "$dir" --save '' --appendonly no \
	--logfile "$dir/redis.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

for _ in $(seq 100); do
	grep -qi 'ready to accept connections' "$dir/redis.log" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if ! grep -qi 'ready to accept connections' "$dir/redis.log" 2>/dev/null; then
	echo "with-redis.sh: redis-server did not start:" >&2
	cat "$dir/redis.log" >&2 || true
	exit 1
fi

WEFT_REDIS_URL="unix://$sock" "$@"
