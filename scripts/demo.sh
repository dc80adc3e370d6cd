#!/usr/bin/env bash
# The whole pipeline on synthetic data, end to end:
#   clm-synth → keygen → export → audit → analyze → report → reidentify
# Usage: scripts/demo.sh [CLIENTS] [OUTDIR]   (default 2000 clients into ./demo)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-2000}
out=${2:-demo}
profile=${CLM_PROFILE:-debug}

if [ -e "$out" ]; then
  echo "demo.sh: $out exists; remove it or give another directory" >&2
  exit 2
fi

flag=""; [ "$profile" = release ] && flag="--release"
echo "== building the clm tools ($profile)"
cargo build $flag --bins --quiet
bin="${CARGO_TARGET_DIR:-target}/$profile"

echo "== 1. a synthetic club export with fake personal data ($clients clients)"
"$bin/clm-synth" --clients "$clients" --seed 1 --as-of 2026-11-01 --out "$out/club"

echo "== 2. keys: pseudonym.key stays on site, data.key goes to the consultant"
"$bin/clm-pseudonymize" keygen --out "$out/keys"

echo "== 3. export: pseudonymized, encrypted bundle"
"$bin/clm-pseudonymize" export --mapping "$out/club/mapping.toml" \
  --pseudonym-key "$out/keys/pseudonym.key" --data-key "$out/keys/data.key" \
  --as-of 2026-11-01 --out "$out/bundle"

echo "== 4. audit, on site: does the bundle hold anything personal?"
"$bin/clm-audit" --bundle "$out/bundle" --data-key "$out/keys/data.key" \
  --mapping "$out/club/mapping.toml" --pseudonym-key "$out/keys/pseudonym.key" \
  --json "$out/audit.json"

echo "== 5. at the consultant's: lifecycle stages"
"$bin/clm-analyze" run segmentation --bundle "$out/bundle" --data-key "$out/keys/data.key"

echo "== 6. at the consultant's: the report (HTML, forms.xlsx, CSVs, segments.csv)"
"$bin/clm-analyze" report --bundle "$out/bundle" --data-key "$out/keys/data.key" \
  --targets examples/targets.toml --loyalty examples/loyalty.toml --out "$out/report"

echo "== 7. back on site: the consultant's list of inactive clients becomes a call list"
# (the saved filter reactivation_calls of profiles/fitness.toml: the clients at stage inactive)
"$bin/clm-analyze" run list --name reactivation_calls --bundle "$out/bundle" \
  --data-key "$out/keys/data.key" --format csv --out "$out/inactive.csv"
"$bin/clm-pseudonymize" reidentify --mapping "$out/club/mapping.toml" \
  --pseudonym-key "$out/keys/pseudonym.key" --pids "$out/inactive.csv" \
  --out "$out/calls.csv"

echo "== done: open $out/report/report.html; the bundle is $out/bundle, the call list (personal data) $out/calls.csv"
