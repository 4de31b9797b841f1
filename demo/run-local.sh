#!/bin/sh
# The demo script (demo/demo.sh) against a local server: starts the built CLI (dist/cli.js) on a
# temporary socket, runs the demo with crictl and ctr from the PATH, and stops the server.
# .ci/run runs it with the crictl it installs; by hand: npm run build && sh demo/run-local.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
node "$root/dist/cli.js" --socket "$dir/containerd.sock" --log-level warn > "$dir/out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
i=0
until grep -q '^export CONTAINERD_ADDRESS=' "$dir/out"; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then echo "run-local: the server did not start" >&2; exit 1; fi
  sleep 0.1
done
eval "$(grep '^export ' "$dir/out")"
sh "$root/demo/demo.sh"
