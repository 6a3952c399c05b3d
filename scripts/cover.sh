#!/usr/bin/env bash
# Coverage of orgd's own packages by the whole suite, the runs of the
# orgd binary by the end-to-end and crash tests included.
#
#   scripts/cover.sh pkgs         the packages measured, comma-separated
#                                 (every package but the tests' own helpers)
#   scripts/cover.sh report DIR   from DIR/raw (counters written by
#                                 go test -test.gocoverdir and by the binary
#                                 through ORGD_COVERDIR): a per-package table,
#                                 the total, DIR/cover.out and DIR/index.html
#
# task cover runs the suite and the report; .ci/run does the same with -race.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
pkgs)
  go list ./... | grep -v -e '^orgd/test/' -e '/mongotest$' | paste -sd, -
  ;;
report)
  dir=${2:?usage: scripts/cover.sh report DIR}
  go tool covdata textfmt -i="$dir/raw" -o "$dir/cover.out"
  printf '%-36s %s\n' package coverage
  go tool covdata percent -i="$dir/raw" | awk '{printf "%-36s %s\n", $1, ($3 == "" ? "(no statements)" : $3)}' | sort
  go tool cover -html="$dir/cover.out" -o "$dir/index.html"
  printf '%-36s %s\n' total "$(go tool cover -func="$dir/cover.out" | awk '/^total:/ {print $3}')"
  echo "(HTML report: $dir/index.html)"
  ;;
*)
  sed -n '2,13p' "$0" >&2
  exit 2
  ;;
esac
