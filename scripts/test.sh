#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need if it is missing (DuckDB for the
# interop checks, Chromium for the report's browser test), then `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import duckdb' 2>/dev/null; then
  echo "test.sh: installing DuckDB (python3 -m pip install duckdb) for the interop tests" >&2
  python3 -m pip install --quiet --disable-pip-version-check 'duckdb>=1.5' >&2
fi

# lifetimes (Python) for the CDNOW comparison of `run clv` (tests/e2e_cdnow.rs), in a private
# venv under the target directory; without it that test skips, except under CI where it fails.
scripts/cdnow.sh --install-only \
  || echo "test.sh: could not install lifetimes; the CDNOW check will say so" >&2

# Headless Chromium renders the HTML report in its browser test (Debian package).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "test.sh: installing chromium (apt-get) for the report's browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "test.sh: could not install chromium; the browser test will say so" >&2
fi

exec cargo test --workspace --locked "$@"
