#!/bin/sh
# The package as npm would publish it, checked by publint and arethetypeswrong: one tarball of the
# dist/ that is already built (npm run build), so nothing is rebuilt. The library (".") and the jest
# helpers are checked for both require() and import (not node10 resolution: Node >= 20 reads
# "exports"); the vitest helpers are ESM only, as vitest is.
set -eu
cd "$(dirname "$0")/.."
[ -f dist/cli.js ] || { echo "check-package: dist/ is missing: run npm run build first" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npm pack --ignore-scripts --silent --pack-destination "$dir" >/dev/null
tgz=$(ls "$dir"/*.tgz)
npx --no-install publint run --strict "$tgz"
npx --no-install attw "$tgz" --profile node16 --entrypoints . ./jest ./jest/global-setup ./jest/global-teardown
npx --no-install attw "$tgz" --profile esm-only --entrypoints ./vitest ./vitest/global-setup
