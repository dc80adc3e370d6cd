#!/usr/bin/env python3
"""clm benchmarks against DuckDB: prints one table of medians (and writes it as CSV).

    python3 bench/bench.py                                  # 10,000 and 100,000 clients, 3 runs
    python3 bench/bench.py --sizes 10000 --runs 3 --steps export,analysis
    python3 bench/bench.py --no-build --target-dir ~/.cache/clm-target-release

Builds the release binaries (cargo build --release; a cold build of clm-analyze takes long on
2 cores), installs DuckDB from PyPI into WORK/.pydeps if it is missing there (the pinned
version with its httpfs extension, which brings the OpenSSL DuckDB needs to write encrypted
Parquet), generates synthetic clubs with clm-synth (cached under --work), and for each size
runs every step, alternating clm and DuckDB (A B A B ...) --runs times each:

  export    clm-pseudonymize export  vs  DuckDB: the same CSVs, parsing, value maps, rare
            values, dropped columns, ids hashed as sha256(key || domain || 0x1F || id), hours,
            age bands, encrypted Parquet (footer key).  Afterwards the two bundles are compared
            column by column (rows, non-null and distinct counts, min/max/sum of non-pid columns).
  analysis  clm-analyze run NAME --format csv  vs  DuckDB running queries/NAME.sql (includes
            expanded, placeholders replaced by typed literals, dialect rewrites listed in
            bench/duckdb_sql.py) over views on the same encrypted bundle files.  The outputs
            of both engines are compared (header, rows, values within a tolerance), the detail
            outputs too (one more untimed run each).
  audit     clm-audit --bundle B --data-key K  vs  DuckDB reading every column of every file
            (count, min/max of every column, count(DISTINCT) of every string column, and the
            k-anonymity classes of clients).  Skipped with a notice when clm-audit is absent.

Every run is measured with /usr/bin/time -v: wall time and peak RSS ("Maximum resident set
size"); a step during whose runs other processes used more than 0.15 of a core is flagged
BUSY in the table (the CSV has the figure, other_cpu).  DuckDB runs as `python3 bench/duckdb_run.py JOB.json` (one in-memory DuckDB per run);
its time includes starting Python and loading DuckDB and the httpfs extension (~0.3 s).
"""
import argparse
import base64
import csv
import json
import math
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import duckdb_sql  # noqa: E402

AS_OF = "2026-11-01"
DUCKDB_VERSION = "1.5.5"
DUCKDB_PACKAGES = [f"duckdb=={DUCKDB_VERSION}", f"duckdb-extension-httpfs=={DUCKDB_VERSION}",
                   f"duckdb-extension-encodings=={DUCKDB_VERSION}"]
# the suite a consultant runs each month; NAME:GRAIN runs NAME with --grain GRAIN
ANALYSES = "segmentation,metrics:week,metrics:month,metrics:quarter,funnel,rfm,cohorts"
STEPS = ("export", "analysis", "audit")
# a run during which other processes used more than this many cores is flagged
BUSY = 0.15
# the dialect rewrites the DuckDB copies of the analysis SQL needed
APPLIED = set()
# numeric tolerance when comparing the engines' outputs
REL_TOL, ABS_TOL = 1e-6, 1e-9


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def busy_seconds():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# The most CPU (in cores) that other processes used during one measured run, per step; a
# busy machine makes the medians unreliable, and the table says so.
OTHER_CPU = {}


def timed(cmd, env=None, ok=(0,), key=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB, stdout, exit
    code). Also notes how much CPU the rest of the machine used meanwhile (OTHER_CPU[key])."""
    b0 = busy_seconds()
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + [str(c) for c in cmd], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    b1 = busy_seconds()
    if p.returncode not in ok:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit(f"bench: command failed: {' '.join(map(str, cmd))}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    if key is not None and b0 is not None and b1 is not None:
        own = sum(float(re.search(rf"{w} time \(seconds\): ([0-9.]+)", p.stderr).group(1))
                  for w in ("User", "System"))
        other_s = max(0.0, (b1 - b0) - own)
        # (both clocks tick in 1/100 s: a run's share counts only above 0.1 s of others' CPU)
        other = other_s / wall if other_s >= 0.1 else 0.0
        OTHER_CPU[key] = max(OTHER_CPU.get(key, 0.0), other)
    return wall, rss_kb / 1024.0, p.stdout, p.returncode


# --------------------------------------------------------------------------------------------
# setup


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}"


def ensure_duckdb(work):
    """DuckDB and its extensions, pinned, in WORK/.pydeps (the system's Python packages are
    left alone). Returns the PYTHONPATH to run duckdb_run.py with, and the version."""
    target = work / ".pydeps"
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = ("import duckdb, duckdb_extension_httpfs, duckdb_extension_encodings; "
             "print(duckdb.__version__)")
    p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if p.returncode != 0 or p.stdout.strip() != DUCKDB_VERSION:
        log(f"installing {' '.join(DUCKDB_PACKAGES)} from PyPI into {target}")
        if target.exists():
            shutil.rmtree(target)
        sh([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", target] + DUCKDB_PACKAGES, stdout=sys.stderr)
        p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"bench: DuckDB does not load from {target}: {p.stderr[-500:]}")
    return str(target), p.stdout.strip()


def build(target_dir):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    log("cargo build --release (a cold build of clm-analyze takes long)")
    sh(["cargo", "build", "--release", "--quiet", "-p", "clm-synth", "-p", "clm-pseudonymize",
        "-p", "clm-analyze", "-p", "clm-audit"], cwd=ROOT, env=env)
    sh(["cargo", "build", "--release", "--quiet", "-p", "clm-audit", "--example", "read_all"], cwd=ROOT, env=env)
    return Path(target_dir) / "release"


def synth(bin_dir, work, clients):
    d = work / f"synth-{clients}"
    if not (d / "mapping.toml").exists():
        if d.exists():
            shutil.rmtree(d)
        log(f"generating a synthetic club of {clients} clients into {d}")
        sh([bin_dir / "clm-synth", "--clients", clients, "--seed", "1", "--as-of", AS_OF,
            "--out", d], stderr=subprocess.DEVNULL)
    return d


def key_hex(path):
    m = re.search(r"^\s*([0-9a-fA-F]{64})\s*$", Path(path).read_text(), re.M)
    if not m:
        raise SystemExit(f"bench: no 64-hex-digit key in {path}")
    return m.group(1).lower()


def manifest(bundle):
    return json.loads((Path(bundle) / "manifest.json").read_text())


def bundle_tables(bundle):
    tables = {}
    for f in manifest(bundle)["files"]:
        tables.setdefault(f["table"], []).append(f["path"])
    return tables


def bundle_size(bundle, tables=None):
    rows = mb = 0
    for f in manifest(bundle)["files"]:
        if tables is None or f["table"] in tables:
            rows += f["rows"]
            mb += f["bytes"] / 1e6
    return rows, mb


def dek_of(bin_dir, bundle, keys):
    """The bundle's DEK, base64, as `clm-analyze dek` prints it (without clm-analyze: unwrapped
    here)."""
    if not (bin_dir / "clm-analyze").exists():
        return unwrap_dek(bundle, keys)
    p = subprocess.run([bin_dir / "clm-analyze", "dek", "--bundle", bundle,
                        "--data-key", keys / "data.key"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench: clm-analyze dek failed: {p.stderr[-1000:]}")
    return p.stdout.strip().split("\t")[-1]


class DuckDB:
    def __init__(self, pythonpath, work):
        self.pythonpath = pythonpath
        self.jobs = work / "duckdb-jobs"
        self.jobs.mkdir(parents=True, exist_ok=True)

    def job(self, name, stmts):
        p = self.jobs / f"{name}.json"
        p.write_text(json.dumps(stmts, indent=1, ensure_ascii=False))
        # the SQL itself, readable, for whoever wants to see what DuckDB ran
        (self.jobs / f"{name}.sql").write_text(";\n\n".join(stmts) + ";\n")
        return p

    def cmd(self, job):
        return [sys.executable, Path(__file__).resolve().parent / "duckdb_run.py", job]

    def env(self, dek, kp=""):
        return dict(os.environ, PYTHONPATH=self.pythonpath, CLM_BENCH_DEK=dek, CLM_BENCH_KP=kp)

    def run(self, job, dek, kp="", key=None):
        return timed(self.cmd(job), env=self.env(dek, kp), key=key)


# --------------------------------------------------------------------------------------------
# results


def result(step, size, engine, walls, rsss, rows, mb, note=""):
    w = statistics.median(walls)
    other = OTHER_CPU.get((step, size))
    if other is not None and other > BUSY:
        note = (note + "; " if note else "") + f"BUSY: other processes used up to {other:.2f} cores"
    return {
        "other_cpu": "" if other is None else round(other, 2),
        "step": step, "size": size, "engine": engine, "runs": len(walls),
        "median_s": round(w, 3), "rows": rows, "mb": round(mb, 1),
        "rows_per_s": int(rows / w) if rows else "",
        "mb_per_s": round(mb / w, 1) if mb else "",
        "peak_rss_mib": round(max(rsss), 1),
        "times_s": " ".join(f"{x:.3f}" for x in walls),
        "ratio": "", "vs_read": "", "note": note,
    }


def pair(results, a, b, read_all=None):
    """ratio = this engine's median time / DuckDB's (DuckDB 1.00; above 1: slower); vs_read =
    median time / the median time of decrypting and reading every column of the bundle."""
    b["ratio"] = "1.00"
    a["ratio"] = f"{a['median_s'] / b['median_s']:.2f}"
    if read_all:
        for r in (a, b):
            r["vs_read"] = f"{r['median_s'] / read_all:.2f}"
    results += [a, b]


def alternate(runs, first, second):
    """Runs first() and second() alternately, runs times each; returns both lists of
    (wall, rss, stdout)."""
    ra, rb = [], []
    for i in range(runs):
        ra.append(first(i))
        rb.append(second(i))
    return ra, rb


# --------------------------------------------------------------------------------------------
# a. export


def bench_export(bin_dir, work, src, keys, runs, duck, results, checks):
    size = src.name.split("-")[-1]
    mapping = src / "mapping.toml"
    m = __import__("tomllib").loads(mapping.read_text())
    files = [src / t["file"] for t in m["tables"].values()]
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    kp = key_hex(keys / "pseudonym.key")
    stmts_by_dir = {}
    clm_rows = {}

    def clm(i):
        out = work / f"bundle-{src.name}-{i}"
        if out.exists():
            shutil.rmtree(out)
        r = timed([bin_dir / "clm-pseudonymize", "export", "--quiet",
                   "--mapping", mapping,
                   "--pseudonym-key", keys / "pseudonym.key",
                   "--data-key", keys / "data.key",
                   "--as-of", AS_OF, "--out", out], key=("export", size))
        man = manifest(out)
        clm_rows["in"] = sum(s["rows_in"] for s in man["sources"])
        clm_rows["out"] = {s["table"]: s["rows_out"] for s in man["sources"]}
        if i > 0:
            shutil.rmtree(work / f"bundle-{src.name}-{i - 1}")
        return r

    def duck_run(i):
        out = work / f"duckdb-bundle-{src.name}-{i}"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        stmts, _ = duckdb_sql.export_script(mapping, AS_OF, out)
        job = duck.job(f"export-{size}-{i}", stmts)
        dek = base64.b64encode(secrets.token_bytes(32)).decode()  # a fresh DEK, as clm draws
        stmts_by_dir[out] = dek
        r = duck.run(job, dek, kp, key=("export", size))
        if i > 0:
            prev = work / f"duckdb-bundle-{src.name}-{i - 1}"
            shutil.rmtree(prev)
            stmts_by_dir.pop(prev, None)
        return r

    log(f"export {src.name}: {runs} runs each, clm and DuckDB alternating")
    ra, rb = alternate(runs, clm, duck_run)
    rows = clm_rows["in"]
    a = result("export", size, "clm", [r[0] for r in ra], [r[1] for r in ra], rows, size_mb)
    b = result("export", size, "duckdb", [r[0] for r in rb], [r[1] for r in rb], rows, size_mb)
    # Check: the same rows per table, and the same data up to the pid function.
    duck_out = work / f"duckdb-bundle-{src.name}-{runs - 1}"
    copy_rows = json.loads(rb[-1][2])["copy_rows"]
    tables = list(m["tables"].keys())
    duck_rows = dict(zip(tables, copy_rows))
    clm_bundle = work / f"bundle-{src.name}-{runs - 1}"
    ok, detail = compare_bundles(bin_dir, keys, clm_bundle, duck_out, stmts_by_dir[duck_out], duck,
                                 f"{size}", clm_rows["out"], duck_rows)
    checks.append(("export", size, ok, detail))
    a["note"] = b["note"] = "bundles agree" if ok else "bundles DIFFER (see checks)"
    pair(results, a, b)
    return clm_bundle


def compare_bundles(bin_dir, keys, clm_bundle, duck_bundle, duck_dek, duck, tag, clm_rows, duck_rows):
    if clm_rows != duck_rows:
        return False, f"rows per table: clm {clm_rows}, DuckDB {duck_rows}"
    pa, pb = duck_bundle.parent / f"profile-clm-{tag}.csv", duck_bundle.parent / f"profile-duckdb-{tag}.csv"
    ja = duck.job(f"profile-clm-{tag}", duckdb_sql.profile_script(clm_bundle, bundle_tables(clm_bundle), pa))
    tb = {t: [f"{t}.parquet"] for t in duck_rows}
    jb = duck.job(f"profile-duckdb-{tag}", duckdb_sql.profile_script(duck_bundle, tb, pb))
    duck.run(ja, dek_of(bin_dir, clm_bundle, keys))
    duck.run(jb, duck_dek)
    ok, msg = compare_csv(pa, pb)
    return ok, ("rows per table equal; column profiles (non-null, distinct, min/max/sum) " + msg)


# --------------------------------------------------------------------------------------------
# b. analysis


def bench_read_all(bin_dir, bundle, keys, runs, results):
    """The floor of every analysis: decrypt and read every column of every file of the bundle
    (crates/clm-audit/examples/read_all, row groups spread over all cores). Returns its median."""
    size = bundle.name.split("-")[2]
    rows, mb = bundle_size(bundle)
    exe = bin_dir / "examples" / "read_all"
    if not exe.exists():
        return None
    threads = os.cpu_count() or 1
    rs = [timed([exe, bundle, keys / "data.key", threads], key=("read-all", size)) for _ in range(runs)]
    r = result("read-all", size, "clm", [x[0] for x in rs], [x[1] for x in rs], rows, mb,
               f"decrypt and read every column of every file, {threads} threads: the floor of an analysis")
    r["vs_read"] = "1.00"
    results.append(r)
    return r["median_s"]


def bench_analysis(bin_dir, work, bundle, keys, dek, runs, duck, analyses, results, checks,
                   read_all=None, reference_queries=None):
    size = bundle.name.split("-")[2]
    tables = bundle_tables(bundle)
    as_of = manifest(bundle)["as_of"]
    outdir = work / f"analysis-{size}"
    if outdir.exists():
        shutil.rmtree(outdir)
    (outdir / "clm").mkdir(parents=True)
    (outdir / "duckdb").mkdir(parents=True)
    if reference_queries:
        (outdir / "reference").mkdir(parents=True)
    sums = {"clm": [0.0, 0.0], "duckdb": [0.0, 0.0]}
    for spec in analyses:
        # NAME or NAME:GRAIN (metrics:week): the analysis run at that grain
        name, _, grain = spec.partition(":")
        label = name if not grain else f"{name}-{grain}"
        extra = ["--grain", grain] if grain else []
        params = {"grain": grain} if grain else {}
        statements, requires, optional = duckdb_sql.expand(name)
        outputs = [o for _, o in statements if o]
        summary = [n for n, d in outputs if not d]
        details = [n for n, d in outputs if d]
        rows, mb = bundle_size(bundle, set(requires) | set(optional))
        stmts, _, applied = duckdb_sql.analysis_script(name, bundle, tables, as_of, outdir / "duckdb",
                                                       params=params, label=label)
        APPLIED.update((f, why) for f, why, _ in applied)
        job = duck.job(f"analysis-{size}-{label}", stmts)
        clm_out = outdir / "clm" / f"{label}.csv"

        def clm(i):
            return timed([bin_dir / "clm-analyze", "run", name, "--bundle", bundle,
                          "--data-key", keys / "data.key", "--format", "csv", "--out", clm_out] + extra,
                         key=(f"analysis:{spec}", size))

        log(f"analysis {spec} on {bundle.name}: {runs} runs each, alternating")
        ra, rb = alternate(runs, clm, lambda i: duck.run(job, dek, key=(f"analysis:{spec}", size)))
        if len(summary) == 1:  # one output: clm wrote it to --out itself
            clm_out.rename(outdir / "clm" / f"{label}.{summary[0]}.csv")

        def untimed(out_dir, queries=None):
            """Every output once more, untimed, into out_dir (details one run each)."""
            q = ["--queries", queries] if queries else []
            base = [bin_dir / "clm-analyze", "run", name, "--bundle", bundle, "--data-key",
                    keys / "data.key", "--format", "csv"] + extra + q
            if queries:
                tmp = out_dir / f"{label}.csv"
                sh(base + ["--out", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if len(summary) == 1:
                    tmp.rename(out_dir / f"{label}.{summary[0]}.csv")
            for d in details:
                sh(base + ["--detail", d, "--out", out_dir / f"{label}.{d}.csv"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        untimed(outdir / "clm")
        if details:
            full, _, _ = duckdb_sql.analysis_script(name, bundle, tables, as_of, outdir / "duckdb", detail=True,
                                                    params=params, label=label)
            duck.run(duck.job(f"analysis-{size}-{label}-detail", full), dek)
        agree = []
        for o in summary + details:
            ok, msg = compare_csv(outdir / "clm" / f"{label}.{o}.csv", outdir / "duckdb" / f"{label}.{o}.csv")
            checks.append((f"analysis {label}.{o}", size, ok, msg))
            agree.append(ok)
        note = f"outputs agree ({len(agree)})" if all(agree) else \
            f"outputs DIFFER ({agree.count(False)} of {len(agree)})"
        if reference_queries:
            # the same analysis with the query files of another tree (e.g. before a change):
            # every output must be byte-identical
            untimed(outdir / "reference", reference_queries)
            same = []
            for o in summary + details:
                f = f"{label}.{o}.csv"
                ok = (outdir / "clm" / f).read_bytes() == (outdir / "reference" / f).read_bytes()
                checks.append((f"analysis {label}.{o} vs --reference-queries", size, ok,
                               "byte-identical" if ok else f"DIFFERS: diff {outdir / 'clm' / f} {outdir / 'reference' / f}"))
                same.append(ok)
            note += "; byte-identical to reference" if all(same) else "; DIFFERS from reference"
        a = result(f"analysis:{spec}", size, "clm", [r[0] for r in ra], [r[1] for r in ra], rows, mb, note)
        b = result(f"analysis:{spec}", size, "duckdb", [r[0] for r in rb], [r[1] for r in rb], rows, mb, note)
        pair(results, a, b, read_all)
        for e, r in (("clm", a), ("duckdb", b)):
            sums[e][0] += r["median_s"]
            sums[e][1] = max(sums[e][1], r["peak_rss_mib"])
    if len(analyses) > 1:
        a = {**result("analysis:total", size, "clm", [sums["clm"][0]], [sums["clm"][1]], 0, 0),
             "runs": "", "times_s": "", "note": "sum of the medians above"}
        b = {**result("analysis:total", size, "duckdb", [sums["duckdb"][0]], [sums["duckdb"][1]], 0, 0),
             "runs": "", "times_s": "", "note": "sum of the medians above"}
        pair(results, a, b, read_all)


def bench_open(bin_dir, bundle, keys, runs, results):
    """clm-analyze opens every bundle by verifying it (manifest HMAC, SHA-256 of every file):
    `clm-analyze dek` does just that, so its time is the part of every analysis run that
    DuckDB does not do."""
    size = bundle.name.split("-")[2]
    rows, mb = bundle_size(bundle)
    rs = [timed([bin_dir / "clm-analyze", "dek", "--bundle", bundle, "--data-key", keys / "data.key"],
                key=("open+verify", size)) for _ in range(runs)]
    results.append(result("open+verify", size, "clm", [r[0] for r in rs], [r[1] for r in rs], rows, mb,
                          "clm-analyze dek: the verification every clm-analyze run starts with"))


# --------------------------------------------------------------------------------------------
# c. audit


def bench_audit(bin_dir, work, bundle, keys, dek, runs, duck, results):
    size = bundle.name.split("-")[2]
    rows, mb = bundle_size(bundle)
    out = work / f"audit-{size}.csv"
    job = duck.job(f"audit-{size}", duckdb_sql.audit_script(bundle, bundle_tables(bundle), out))
    report = work / f"audit-{size}.json"

    def clm(i):
        # exit 1 (a check failed) still measures a whole audit; only 2 (could not run) is an error
        return timed([bin_dir / "clm-audit", "--bundle", bundle, "--data-key", keys / "data.key",
                      "--json", report], ok=(0, 1), key=("audit", size))

    log(f"audit {bundle.name}: {runs} runs each, alternating")
    ra, rb = alternate(runs, clm, lambda i: duck.run(job, dek, key=("audit", size)))
    verdict = "clm-audit: pass" if ra[-1][3] == 0 else "clm-audit: a check failed (exit 1)"
    a = result("audit", size, "clm", [r[0] for r in ra], [r[1] for r in ra], rows, mb, verdict)
    b = result("audit", size, "duckdb", [r[0] for r in rb], [r[1] for r in rb], rows, mb,
               "count, min/max of every column, distinct strings, k-anonymity")
    pair(results, a, b)


# --------------------------------------------------------------------------------------------
# comparing outputs


def _cell(s):
    if s == "":
        return None
    try:
        return float(s)
    except ValueError:
        return s


def _same(x, y):
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return x == y


def _sort_key(row):
    return tuple((0, f"{c:.6g}") if isinstance(c, float) else (1, "" if c is None else c) for c in row)


def compare_csv(a, b):
    """(agree, what) for two CSV files with a header: same columns, same number of rows, and
    every value equal (numbers within REL_TOL/ABS_TOL); rows compared in order, or, when only
    the order differs, as sorted lists."""
    ra = list(csv.reader(open(a, newline="")))
    rb = list(csv.reader(open(b, newline="")))
    if not ra or not rb:
        return False, f"empty output ({a.name})"
    ha, hb = ra[0], rb[0]
    if ha != hb:
        return False, f"columns differ: {ha} vs {hb}"
    da = [[_cell(c) for c in r] for r in ra[1:]]
    db = [[_cell(c) for c in r] for r in rb[1:]]
    if len(da) != len(db):
        return False, f"{len(da)} rows vs {len(db)}"

    def diff(x, y):
        for i, (r, s) in enumerate(zip(x, y)):
            for j, (p, q) in enumerate(zip(r, s)):
                if not _same(p, q):
                    return i, j, p, q
        return None

    d = diff(da, db)
    if d is None:
        return True, f"agree: {len(da)} rows x {len(ha)} columns"
    d2 = diff(sorted(da, key=_sort_key), sorted(db, key=_sort_key))
    if d2 is None:
        return True, f"agree: {len(da)} rows x {len(ha)} columns (row order differs)"
    i, j, p, q = d
    bad = sum(1 for r, s in zip(da, db) for p_, q_ in zip(r, s) if not _same(p_, q_))
    return False, (f"{bad} values differ; first at row {i + 1}, column {ha[j]}: clm {p!r}, DuckDB {q!r}")


# --------------------------------------------------------------------------------------------


def print_table(results, mach, out_csv):
    cols = ["step", "size", "engine", "median_s", "rows_per_s", "mb_per_s", "peak_rss_mib", "ratio", "vs_read",
            "note"]
    heads = {"median_s": "median s", "rows_per_s": "rows/s", "mb_per_s": "MB/s",
             "peak_rss_mib": "peak RSS MiB", "ratio": "ratio", "vs_read": "vs read-all"}
    rows = [[str(r[c]) for c in cols] for r in results]
    names = [heads.get(c, c) for c in cols]
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    print(f"machine: {mach}")
    print("ratio: median time / DuckDB's median time (DuckDB = 1.00; above 1, clm is slower); "
          "vs read-all: median time / the read-all step's")
    print("  ".join(n.ljust(w) if i in (0, 2, 9) else n.rjust(w) for i, (n, w) in enumerate(zip(names, widths))))
    for r in rows:
        print("  ".join(v.ljust(w) if i in (0, 2, 9) else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    fields = ["machine", "step", "size", "engine", "median_s", "rows_per_s", "mb_per_s", "peak_rss_mib",
              "ratio", "vs_read", "runs", "times_s", "rows", "mb", "other_cpu", "note"]
    with open(out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in results:
            w.writerow({**r, "machine": mach})
    print(f"written: {out_csv}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="client counts, comma-separated [10000,100000]")
    ap.add_argument("--runs", type=int, default=3, help="runs of each engine per step, alternating [3]")
    ap.add_argument("--steps", default=",".join(STEPS), help="export,analysis,audit (any of them)")
    ap.add_argument("--analyses", default=ANALYSES, help=f"analyses of the analysis step [{ANALYSES}]")
    ap.add_argument("--work", default=str(ROOT / "bench" / "out"), help="work directory (synth data, bundles, results)")
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")),
                    help="cargo target directory holding release/ [$CARGO_TARGET_DIR or ./target]")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries already built")
    ap.add_argument("--reference-queries", metavar="DIR",
                    help="also run every analysis with the query files of DIR (e.g. a copy of queries/ "
                         "before a change) and check that every output is byte-identical")
    args = ap.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    for s in steps:
        if s not in STEPS:
            ap.error(f"--steps: unknown step {s!r} (known: {', '.join(STEPS)})")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    analyses = [a.strip() for a in args.analyses.split(",") if a.strip()]
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not Path("/usr/bin/time").exists():
        raise SystemExit("bench: /usr/bin/time is needed for peak RSS (apt-get install time)")
    bin_dir = Path(args.target_dir) / "release" if args.no_build else build(args.target_dir)
    for b in ("clm-synth", "clm-pseudonymize"):
        if not (bin_dir / b).exists():
            raise SystemExit(f"bench: {bin_dir / b} is missing (build it, or drop --no-build)")
    has_analyze = (bin_dir / "clm-analyze").exists()
    has_audit = (bin_dir / "clm-audit").exists()
    pythonpath, dversion = ensure_duckdb(work)
    duck = DuckDB(pythonpath, work)
    mach = machine()
    log(f"machine: {mach}; DuckDB {dversion}; binaries in {bin_dir}")
    keys = work / "keys"
    if not (keys / "data.key").exists():
        sh([bin_dir / "clm-pseudonymize", "keygen", "--out", keys], stdout=subprocess.DEVNULL)
    results, checks, notices = [], [], []
    if "analysis" in steps and not has_analyze:
        notices.append(f"analysis step skipped: {bin_dir / 'clm-analyze'} does not exist")
    if "audit" in steps and not has_audit:
        notices.append(f"audit step skipped: {bin_dir / 'clm-audit'} does not exist")
    # What a DuckDB run costs before any work: Python, DuckDB and the httpfs extension loaded.
    rs = [duck.run(duck.job("startup", []), "", key=("startup", "-")) for _ in range(args.runs)]
    results.append(result("startup", "-", "duckdb", [r[0] for r in rs], [r[1] for r in rs], 0, 0,
                          "python3 + import duckdb + LOAD httpfs, no query: part of every DuckDB time below"))
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        src = synth(bin_dir, work, n)
        bundle = None
        if "export" in steps:
            bundle = bench_export(bin_dir, work, src, keys, args.runs, duck, results, checks)
        need = ("analysis" in steps and has_analyze) or ("audit" in steps and has_audit)
        if not need:
            continue
        if bundle is None:
            found = sorted(p for p in work.glob(f"bundle-{src.name}-*") if (p / "manifest.json").exists())
            if found:
                bundle = found[-1]
            else:
                bundle = work / f"bundle-{src.name}-0"
                log(f"exporting {src.name} once for the analysis and audit steps")
                sh([bin_dir / "clm-pseudonymize", "export", "--quiet", "--mapping", src / "mapping.toml",
                    "--pseudonym-key", keys / "pseudonym.key", "--data-key", keys / "data.key",
                    "--as-of", AS_OF, "--out", bundle], stdout=sys.stderr)
        dek = dek_of(bin_dir, bundle, keys)
        if "analysis" in steps and has_analyze:
            bench_open(bin_dir, bundle, keys, args.runs, results)
            read_all = bench_read_all(bin_dir, bundle, keys, args.runs, results)
            if read_all is None:
                notices.append(f"read-all baseline skipped: {bin_dir / 'examples' / 'read_all'} does not exist")
            bench_analysis(bin_dir, work, bundle, keys, dek, args.runs, duck, analyses, results, checks,
                           read_all, args.reference_queries)
        if "audit" in steps and has_audit:
            bench_audit(bin_dir, work, bundle, keys, dek, args.runs, duck, results)
    print(f"command: {' '.join(sys.argv)}; DuckDB {dversion} (Python package, httpfs extension loaded)")
    if results:
        print_table(results, mach, work / "results.csv")
    if checks:
        print("checks (clm vs DuckDB):")
        for what, size, ok, msg in checks:
            print(f"  {'ok  ' if ok else 'DIFF'} {size:>7} {what}: {msg}")
    for n in notices:
        print(f"notice: {n}")
    if APPLIED:
        print("DuckDB copies of the analysis SQL: placeholders replaced by typed literals; rewrites:")
        for f, why in sorted(APPLIED):
            print(f"  {f}: {why}")
    if any(not ok for _, _, ok, _ in checks):
        sys.exit(1)


def unwrap_dek(bundle, keys):
    """Without clm-analyze: the DEK unwrapped here (AES-256-GCM with the data key, AAD
    clm/dek/v1/EXPORT_ID), which needs the `cryptography` package."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise SystemExit("bench: neither clm-analyze nor the Python package cryptography is there "
                         "to unwrap the bundle's DEK")
    m = manifest(bundle)
    w = m["wrapped_dek"]
    dek = AESGCM(bytes.fromhex(key_hex(keys / "data.key"))).decrypt(
        bytes.fromhex(w["nonce"]), bytes.fromhex(w["ciphertext"]), f"clm/dek/v1/{m['export_id']}".encode())
    return base64.b64encode(dek).decode()


if __name__ == "__main__":
    main()
