#!/usr/bin/env bash
# clm on a real Ballista cluster (issue 12 §2): a scheduler and two executors as separate
# processes on 127.0.0.1 (`clm-cluster`, our binary linking ballista-scheduler and
# ballista-executor 55), the analysis suite run through them and locally, the outputs compared
# byte for byte, an executor killed during a query, and the processes stopped.
#
#   scripts/cluster.sh                 # 3 synthetic clubs of 400 clients, debug build
#   CLM_PROFILE=release scripts/cluster.sh 2000
#   scripts/cluster.sh CLIENTS WORKDIR # WORKDIR is kept (default: a temporary directory)
#
# Exit 0: every output equal, the killed executor's query failed with a message or was
# retried to the full result, no data key in any log. Exit 1 otherwise (the logs are kept).
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-400}
work=${2:-}
profile=${CLM_PROFILE:-debug}
keep=1
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/clm-cluster.XXXXXX")
  keep=0
elif [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
  echo "cluster.sh: $work is not empty; remove it or give another directory" >&2
  exit 2
fi
mkdir -p "$work"
say() { echo "== cluster.sh: $*"; }
fail() {
  echo "cluster.sh: FAILED: $*" >&2
  echo "cluster.sh: logs and outputs kept in $work" >&2
  keep=1
  exit 1
}

flag=""; [ "$profile" = release ] && flag="--release"
say "building clm-cluster, clm-analyze, clm-synth, clm-pseudonymize ($profile)"
cargo build $flag --locked --quiet -p clm-cluster -p clm-analyze -p clm-synth -p clm-pseudonymize
bin="${CARGO_TARGET_DIR:-target}/$profile"

# --- the processes, stopped whatever happens -------------------------------------------
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap stop_all EXIT

# seven free ports of 127.0.0.1 (scheduler; flight and grpc of three executors)
read -r -a ports <<<"$(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
EOF
)"
sched_port=${ports[0]}
url="df://127.0.0.1:$sched_port"

wait_port() { # PORT WHAT PID: until something listens on PORT (30 s)
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || fail "$2 exited; see $work/logs"
    sleep 0.1
  done
  fail "$2 does not listen on port $1 after 30 s"
}

mkdir -p "$work/logs"
start_scheduler() {
  "$bin/clm-cluster" --log-level info scheduler --bind-host 127.0.0.1 --bind-port "$sched_port" \
    --external-host 127.0.0.1 --executor-timeout-seconds 10 \
    --expire-dead-executor-interval-seconds 2 >"$work/logs/scheduler.log" 2>&1 &
  pids+=($!)
  sched_pid=$!
  wait_port "$sched_port" scheduler "$sched_pid"
}
start_executor() { # N: executor N (1..3) on its own ports and work directory
  local n=$1 flight=${ports[$((2 * $1 - 1))]} grpc=${ports[$((2 * $1))]}
  mkdir -p "$work/executor-$n"
  "$bin/clm-cluster" --log-level info executor --scheduler-host 127.0.0.1 \
    --scheduler-port "$sched_port" --bind-host 127.0.0.1 --external-host 127.0.0.1 \
    --flight-port "$flight" --grpc-port "$grpc" --work-dir "$work/executor-$n" --vcores 2 \
    --heartbeat-interval-seconds 2 >"$work/logs/executor-$n.log" 2>&1 &
  pids+=($!)
  eval "executor_${n}_pid=$!"
  wait_port "$flight" "executor $n" "$!"
}

# --- three synthetic clubs, exported ---------------------------------------------------
say "3 synthetic clubs of $clients clients, pseudonymized (one data key)"
"$bin/clm-pseudonymize" keygen --out "$work/keys/consultant" >/dev/null
kd="$work/keys/consultant/data.key"
for i in 1 2 3; do
  "$bin/clm-synth" --clients "$clients" --seed "$i" --club "Club $i" --as-of 2026-11-01 \
    --out "$work/src/club-$i" >/dev/null
  "$bin/clm-pseudonymize" keygen --out "$work/keys/club-$i" >/dev/null
  "$bin/clm-pseudonymize" export --mapping "$work/src/club-$i/mapping.toml" \
    --pseudonym-key "$work/keys/club-$i/pseudonym.key" --data-key "$kd" \
    --as-of 2026-11-01 --out "$work/bundles/club-$i" >/dev/null 2>&1 \
    || fail "export of club $i"
done
b1="$work/bundles/club-1"

say "scheduler on 127.0.0.1:$sched_port, two executors (2 task slots each)"
start_scheduler
start_executor 1
start_executor 2
sleep 3 # the executors register with their first heartbeat

# --- the suite, locally and on the cluster ---------------------------------------------
suite() { # WHERE [--cluster URL]: every command that runs SQL, outputs under $work/WHERE
  local o="$work/$1"; shift
  mkdir -p "$o"
  local a=(--bundle "$b1" --data-key "$kd")
  "$bin/clm-analyze" sql "SELECT age_band, gender, count(*) AS n FROM clients GROUP BY 1, 2 ORDER BY 1, 2" \
    "${a[@]}" --format csv --out "$o/sql.csv" "$@"
  for q in segmentation "metrics --grain month" "metrics --grain quarter" funnel rfm cohorts; do
    # shellcheck disable=SC2086
    "$bin/clm-analyze" run $q "${a[@]}" --format csv --out "$o/${q// /_}/" "$@"
  done
  "$bin/clm-analyze" report "${a[@]}" --out "$o/report" "$@" >/dev/null
  "$bin/clm-analyze" portfolio --bundles-dir "$work/bundles" --data-key "$kd" --format csv \
    --out "$o/network.csv" "$@" >/dev/null
}
say "the suite locally"
t0=$(date +%s)
suite local >"$work/logs/local.log" 2>&1 || fail "the local suite (see $work/logs/local.log)"
t1=$(date +%s)
say "the suite on the cluster ($url)"
suite cluster --cluster "$url" >"$work/logs/cluster.log" 2>&1 \
  || fail "the suite on the cluster (see $work/logs/cluster.log)"
t2=$(date +%s)
# report.html and forms.xlsx (docProps/core.xml) name the time they were made: compare
# everything else byte for byte, forms.xlsx part by part
diff -r -x report.html -x forms.xlsx "$work/local" "$work/cluster" >"$work/logs/diff.txt" \
  || fail "cluster outputs differ from the local ones ($work/logs/diff.txt)"
python3 - "$work/local/report/forms.xlsx" "$work/cluster/report/forms.xlsx" <<'EOF_PY' \
  || fail "forms.xlsx differs on the cluster"
import sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:])
parts = lambda z: {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}
sys.exit(0 if parts(a) == parts(b) else 1)
EOF_PY
files=$(find "$work/local" -type f ! -name report.html | wc -l)
say "equal: $files output files identical (local $((t1 - t0)) s, cluster $((t2 - t1)) s)"

# --- an executor killed during a query -------------------------------------------------
# A query that keeps both executors busy for a while: every visit of a client against
# every other visit of that client.
heavy="SELECT count(*) AS pairs, count(DISTINCT a.client_pid) AS clients
       FROM visits a JOIN visits b ON a.client_pid = b.client_pid AND a.visited_at <= b.visited_at"
"$bin/clm-analyze" sql "$heavy" --bundle "$b1" --data-key "$kd" --format csv \
  --out "$work/heavy-local.csv" >/dev/null 2>&1 || fail "the heavy query locally"
start_executor 3
sleep 3
say "killing executor 1 during a query"
set +e
"$bin/clm-analyze" sql "$heavy" --bundle "$b1" --data-key "$kd" --format csv \
  --out "$work/heavy-cluster.csv" --cluster "$url" >"$work/logs/killed.log" 2>&1 &
q=$!
sleep 2
kill -9 "$executor_1_pid"
# the scheduler needs up to --executor-timeout-seconds to see the executor gone
for _ in $(seq 1 240); do kill -0 "$q" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$q" 2>/dev/null; then
  kill "$q"
  fail "the query with a killed executor did not end within 120 s"
fi
wait "$q"
rc=$?
set -e
if [ "$rc" = 0 ]; then
  cmp -s "$work/heavy-local.csv" "$work/heavy-cluster.csv" \
    || fail "a killed executor gave a different result, presented as complete"
  say "retried: the query succeeded on the remaining executors with the full result"
else
  [ -e "$work/heavy-cluster.csv" ] && fail "a failed query left an output file"
  grep -q "clm-analyze" "$work/logs/killed.log" || fail "the failed query said nothing"
  say "failed cleanly (exit $rc): $(grep -m1 'clm-analyze' "$work/logs/killed.log" | cut -c1-300)"
fi

# --- no data key in any log ------------------------------------------------------------
# (a plan's Debug form would show the scans' footer_key_as_hex; Display forms never do)
if grep -l -i "footer_key" "$work"/logs/*.log; then fail "a plan's data key reached a log"; fi
say "passed"
