#!/usr/bin/env python3
"""clm benchmarks: prints one table of medians (and writes it as CSV).

    python3 bench/bench.py                       # 10,000 and 100,000 clients, 3 runs each
    python3 bench/bench.py --sizes 10000 --runs 1

Builds the release binaries (cargo build --release; a cold build takes long on 2 cores),
generates synthetic clubs with clm-synth (cached under --work), and measures each step with
/usr/bin/time -v: wall time, rows/s, source MB/s and peak RSS.
"""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-01"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + [str(c) for c in cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit(f"bench: command failed: {' '.join(map(str, cmd))}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss_kb / 1024.0


def build(target_dir):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    print("bench: cargo build --release (this can take long the first time)", file=sys.stderr)
    sh(["cargo", "build", "--release", "--quiet", "-p", "clm-synth", "-p", "clm-pseudonymize"],
       cwd=ROOT, env=env)
    return Path(target_dir) / "release"


def synth(bin_dir, work, clients):
    d = work / f"synth-{clients}"
    if not (d / "mapping.toml").exists():
        if d.exists():
            shutil.rmtree(d)
        sh([bin_dir / "clm-synth", "--clients", str(clients), "--seed", "1", "--as-of", AS_OF,
            "--out", d], stderr=subprocess.DEVNULL)
    return d


def bench_export(bin_dir, work, src, keys, runs):
    size_mb = sum(f.stat().st_size for f in src.glob("*.csv")) / 1e6
    rows = None
    walls, rsss = [], []
    for i in range(runs):
        out = work / f"bundle-{src.name}-{i}"
        if out.exists():
            shutil.rmtree(out)
        wall, rss = timed([bin_dir / "clm-pseudonymize", "export", "--quiet",
                           "--mapping", src / "mapping.toml",
                           "--pseudonym-key", keys / "pseudonym.key",
                           "--data-key", keys / "data.key",
                           "--as-of", AS_OF, "--out", out])
        walls.append(wall)
        rsss.append(rss)
        m = json.loads((out / "manifest.json").read_text())
        rows = sum(s["rows_in"] for s in m["sources"])
        visits = next(s["rows_in"] for s in m["sources"] if s["table"] == "visits")
        if i < runs - 1:
            shutil.rmtree(out)
    w = statistics.median(walls)
    return {
        "step": "export", "engine": "clm", "source": src.name, "visit_rows": visits,
        "rows": rows, "source_mb": round(size_mb, 1), "runs": runs,
        "median_s": round(w, 2), "rows_per_s": int(rows / w), "mb_per_s": round(size_mb / w, 1),
        "peak_rss_mib": round(max(rsss), 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="client counts, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=str(ROOT / "bench" / "out"), help="work directory (synth data, bundles)")
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bin_dir = build(args.target_dir)
    keys = work / "keys"
    if not (keys / "data.key").exists():
        sh([bin_dir / "clm-pseudonymize", "keygen", "--out", keys], stdout=subprocess.DEVNULL)
    results = []
    for n in [int(x) for x in args.sizes.split(",")]:
        src = synth(bin_dir, work, n)
        results.append(bench_export(bin_dir, work, src, keys, args.runs))
    cols = list(results[0].keys())
    widths = {c: max(len(c), *(len(str(r[c])) for r in results)) for c in cols}
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}; command: {' '.join(sys.argv)}")
    print("  ".join(c.rjust(widths[c]) for c in cols))
    for r in results:
        print("  ".join(str(r[c]).rjust(widths[c]) for c in cols))
    out_csv = work / "results.csv"
    with open(out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(results)
    print(f"written: {out_csv}")


if __name__ == "__main__":
    main()
