#!/usr/bin/env bash
# critest against the fake, as CI runs it: .ci/critest-floor.sh DIR MIN — starts the built server on a
# fresh socket, runs DIR/critest, prints its summary and fails when fewer than MIN specs pass.
# The floors in .ci/run only go up: today's counts (rshared propagation still fails on both).
# The pod CIDR is on loopback so that critest, on the host, reaches pod IPs (checkMainPage fetches
# http://<pod IP>:80): each pod's servers then also listen for real on the pod's 127.77.x.y.
set -uo pipefail
dir=$1 min=$2
sock=$(mktemp -u /tmp/fc-critest-XXXXXX.sock)
node dist/cli.js --socket "$sock" --pod-cidr 127.77.0.0/16 --log-level error >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
out=$("$dir/critest" -runtime-endpoint "unix://$sock" -image-endpoint "unix://$sock" 2>&1)
summary=$(printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '[0-9]+ Passed \|' | tail -1)
printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^\s+\[FAIL\]' || true
passed=$(printf '%s\n' "$summary" | sed -E 's/.* ([0-9]+) Passed.*/\1/')
echo "critest $(basename "$dir"): ${summary:-no summary} (floor $min)"
[ -n "$passed" ] && [ "$passed" -ge "$min" ]
