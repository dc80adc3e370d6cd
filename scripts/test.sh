#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need if it is missing (DuckDB for the
# interop checks), then `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import duckdb' 2>/dev/null; then
  echo "test.sh: installing DuckDB (python3 -m pip install duckdb) for the interop tests" >&2
  python3 -m pip install --quiet --disable-pip-version-check 'duckdb>=1.5' >&2
fi

exec cargo test --workspace --locked "$@"
