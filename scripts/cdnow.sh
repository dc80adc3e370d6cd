#!/usr/bin/env bash
# The real-data check of `run clv_summary` and `run clv` against the Python library lifetimes,
# on CDNOW (the CDNOW_master.txt that the PyPI package lifetimes ships; never committed):
#   lifetimes into a private venv → CDNOW as a source export (clients + sales) and a mapping
#   → keygen → clm-pseudonymize export → clm-analyze run clv_summary (twice) and run clv
#   → bench/cdnow.py compares per customer with lifetimes' summary_data_from_transaction_data,
#     BetaGeoFitter and GammaGammaFitter, and prints the figures.
# Usage: scripts/cdnow.sh [--subset N] [--out DIR] [--bin-dir DIR] [--install-only]
#   --subset N   only CDNOW customers 1..N (the test suite's fixed subset); default all 23,570
#   --out DIR    working directory (default bench/out/cdnow; replaced)
#   --bin-dir D  the clm binaries (default: cargo build, then $CARGO_TARGET_DIR/debug)
#   --install-only  install lifetimes into the venv if missing, then stop (scripts/test.sh)
# Environment: CDNOW_PYDEPS (the venv; default target/cdnow-pydeps), CDNOW_PYTHON (python3).
# Exit codes: 0 every bound holds; 1 a bound fails or a step fails; 3 Python or lifetimes
# cannot be had (no python3, or pip cannot install it).
set -euo pipefail
cd "$(dirname "$0")/.."
subset=0
out=bench/out/cdnow
bins=""
install_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --subset) subset=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bin-dir) bins=$2; shift 2 ;;
    --install-only) install_only=1; shift ;;
    *) echo "cdnow.sh: unknown argument $1 (see the head of this script)" >&2; exit 2 ;;
  esac
done

py=${CDNOW_PYTHON:-python3}
deps=${CDNOW_PYDEPS:-${CARGO_TARGET_DIR:-target}/cdnow-pydeps}
if ! command -v "$py" >/dev/null 2>&1; then
  echo "cdnow.sh: no $py: the lifetimes comparison cannot run" >&2
  exit 3
fi
# lifetimes 0.11.3 (2020) works with these on Python 3.11; newer numpy/pandas break it.
if ! "$deps/bin/python" -c 'import lifetimes' 2>/dev/null; then
  echo "cdnow.sh: installing lifetimes 0.11.3 (numpy 1.26, pandas 1.5, scipy 1.11) into $deps" >&2
  if ! { "$py" -m venv "$deps" && "$deps/bin/python" -m pip install --quiet --disable-pip-version-check \
      lifetimes==0.11.3 numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 autograd==1.6.2; } >&2; then
    echo "cdnow.sh: could not install lifetimes into $deps: the comparison cannot run" >&2
    exit 3
  fi
fi
vpy="$deps/bin/python"
[ -n "$install_only" ] && exit 0

if [ -z "$bins" ]; then
  cargo build --quiet -p clm-pseudonymize -p clm-analyze --bins
  bins="${CARGO_TARGET_DIR:-target}/debug"
fi

rm -rf "$out"
mkdir -p "$out"
"$vpy" bench/cdnow.py prepare "$out" --subset "$subset"
"$bins/clm-pseudonymize" keygen --out "$out/keys" >/dev/null
"$bins/clm-pseudonymize" export --mapping "$out/source/mapping.toml" \
  --pseudonym-key "$out/keys/pseudonym.key" --data-key "$out/keys/data.key" \
  --as-of 1998-06-30 --out "$out/bundle" >/dev/null 2>"$out/export.log" \
  || { cat "$out/export.log" >&2; exit 1; }

an=("$bins/clm-analyze")
common=(--bundle "$out/bundle" --data-key "$out/keys/data.key" --as-of 1998-06-30
  --param clv_table=sales --param clv_period=day)
for f in summary summary_again; do
  "${an[@]}" run clv_summary "${common[@]}" --format csv --out "$out/$f.csv" 2>"$out/$f.log" \
    || { cat "$out/$f.log" >&2; exit 1; }
done
start=$(date +%s%N)
CLM_TIMINGS=1 "${an[@]}" run clv "${common[@]}" --param clv_horizon=30 --param clv_months=12 \
  --param clv_discount_rate=0.01 --param clv_penalizer=0 --format csv --out "$out/clv.csv" \
  2>"$out/clv.log" || { cat "$out/clv.log" >&2; exit 1; }
end=$(date +%s%N)
echo "run clv: $(( (end - start) / 1000000 )) ms in all (this build); $(grep 'clv fits' "$out/clv.log" | sed 's/^timing: *//')"
CDNOW_HORIZON=30 "$vpy" bench/cdnow.py compare "$out" --subset "$subset"
