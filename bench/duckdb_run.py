#!/usr/bin/env python3
"""Runs one DuckDB job for bench.py: a JSON list of SQL statements, in order, in one in-memory
DuckDB, with the httpfs extension loaded from the file its PyPI package installs (DuckDB
writes encrypted Parquet only with OpenSSL, which httpfs brings).

    CLM_BENCH_DEK=<base64 DEK> python3 bench/duckdb_run.py JOB.json

`{{DEK}}` and `{{KP}}` in a statement are replaced by CLM_BENCH_DEK and CLM_BENCH_KP (the
pseudonymization key, hex, for the export's stand-in hash), so no key is written to disk. Prints a
JSON object on stdout: the DuckDB version and the row count of each COPY statement.
"""
import json
import os
import sys
import time
from pathlib import Path


def extension_file(package, name):
    """The .duckdb_extension file a duckdb-extension-NAME PyPI package installs."""
    import importlib
    try:
        mod = importlib.import_module(package)
    except ImportError:
        return None
    import duckdb
    base = Path(mod.__file__).parent / "extensions"
    want = base / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if want.exists():
        return want
    found = sorted(base.glob(f"*/{name}.duckdb_extension"))
    return found[-1] if found else None


def main():
    t0 = time.perf_counter()
    import duckdb
    stmts = json.loads(Path(sys.argv[1]).read_text())
    dek = os.environ.get("CLM_BENCH_DEK", "")
    kp = os.environ.get("CLM_BENCH_KP", "")
    con = duckdb.connect()
    # Never fetch anything from the network during a benchmark.
    con.execute("SET autoinstall_known_extensions = false")
    httpfs = extension_file("duckdb_extension_httpfs", "httpfs")
    if httpfs is None:
        sys.exit("duckdb_run: duckdb-extension-httpfs is not installed (needed for encrypted writes)")
    con.execute(f"LOAD '{httpfs}'")
    if any("windows-1251" in s for s in stmts):
        enc = extension_file("duckdb_extension_encodings", "encodings")
        if enc is None:
            sys.exit("duckdb_run: duckdb-extension-encodings is not installed (cp1251 sources)")
        con.execute(f"LOAD '{enc}'")
    t_ready = time.perf_counter()
    counts = []
    for s in stmts:
        r = con.execute(s.replace("{{DEK}}", dek).replace("{{KP}}", kp))
        if s.lstrip().upper().startswith("COPY"):
            row = r.fetchone()
            counts.append(row[0] if row else None)
    json.dump({"duckdb": duckdb.__version__, "copy_rows": counts,
               "startup_s": round(t_ready - t0, 3),
               "work_s": round(time.perf_counter() - t_ready, 3)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
