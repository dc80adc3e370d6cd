"""DuckDB counterparts of the clm steps, as SQL scripts for bench/duckdb_run.py.

Three generators, each from the project's own definitions so that they follow them:

* export_script(mapping, ...)  -- from a source mapping (mapping.toml) and the canonical schema
  (schemas/*.toml): the same CSVs with the same parsing (delimiter, DD.MM.YYYY dates, decimal
  comma money, value maps, rare category values -> "other"), the same columns dropped, ids
  hashed as sha256(key || domain || 0x1F || id) (DuckDB has no HMAC; this is the nearest
  unkeyed stand-in), timestamps truncated to the hour, age bands from birth dates, written as
  encrypted Parquet (ENCRYPTION_CONFIG, footer key).
* analysis_script(name, ...)  -- from queries/NAME.sql: `-- @include` expanded as clm-analyze
  does (each file once, includes first), `$name::TYPE` placeholders replaced by the typed
  literal of the profile value (DuckDB cannot bind prepared parameters in CREATE VIEW), and the
  few dialect differences rewritten (DIALECT_REWRITES, each checked to still apply).
* audit_script(bundle, ...)  -- every column of every file read: count(*), min/max of every
  column, count(DISTINCT) of every string column (a hash aggregate over each, like the audit's
  per-distinct-value verdicts), and the k-anonymity classes of the clients table.

A script is a list of statements; `{{DEK}}` stands for the base64 data-encryption key, filled in
by the worker from the environment so that no key is written to disk.
"""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "queries"
SCHEMAS = ROOT / "schemas"
PROFILE = ROOT / "profiles" / "fitness.toml"

KEY_NAME = "clm_bench"
# clm_core::mapping::DEFAULT_NULL_MARKERS: cell texts read as empty unless a mapping sets
# null_markers; and clm-pseudonymize's kanon.rs SUPPRESSION_ORDER.
DEFAULT_NULL_MARKERS = ["—", "–", "-", "н.д.", "н/д", "NULL", "null", "#N/A"]
K_SUPPRESSION_ORDER = ["postal_prefix", "age_band", "gender", "branch"]


def sql_str(s):
    return "'" + str(s).replace("'", "''") + "'"


def read_parquet(path):
    return f"read_parquet({sql_str(path)}, encryption_config = {{footer_key: {sql_str(KEY_NAME)}}})"


# --------------------------------------------------------------------------------------------
# The canonical schema (schemas/*.toml)

DUCK_TYPES = {"pid": "VARCHAR", "string": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP",
              "money": "DECIMAL(18,2)", "int": "BIGINT"}


def canonical():
    tables = {}
    for p in sorted(SCHEMAS.glob("*.toml")):
        if p.name == "example-mapping.toml":
            continue
        t = tomllib.loads(p.read_text())
        if "table" in t:
            tables[t["table"]] = t
    return tables


def exported_fields(table_schema):
    return [f for f in table_schema["field"] if f.get("output") and f.get("class") != "direct"]


# --------------------------------------------------------------------------------------------
# a. export


def _field_spec(spec):
    if isinstance(spec, str):
        return {"column": spec}
    return dict(spec)


def _money(expr, decimal_comma):
    # clm: white space (also NBSP) skipped; with a decimal comma '.' is a thousands separator.
    e = f"replace(replace({expr}, ' ', ''), chr(160), '')"
    if decimal_comma:
        e = f"replace(replace({e}, '.', ''), ',', '.')"
    else:
        e = f"replace({e}, ',', '')"
    return e


def _strptime_format(fmt):
    out = fmt
    for a, b in (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"),
                 ("mm", "%M"), ("ss", "%S")):
        out = out.replace(a, b)
    return out


def _age_band(date_expr, as_of, bounds):
    age = f"date_sub('year', {date_expr}, DATE {sql_str(as_of)})"
    labels = [f"<{bounds[0]}"] + [f"{a}-{b - 1}" for a, b in zip(bounds, bounds[1:])] + [f"{bounds[-1]}+"]
    whens = [f"WHEN {age} < {bounds[0]} THEN {sql_str(labels[0])}"]
    for b, label in zip(bounds[1:], labels[1:-1]):
        whens.append(f"WHEN {age} < {b} THEN {sql_str(label)}")
    return f"CASE WHEN {date_expr} > DATE {sql_str(as_of)} THEN NULL {' '.join(whens)} ELSE {sql_str(labels[-1])} END"


def export_script(mapping_path, as_of, out_dir):
    """Statements that export every mapped table of `mapping_path` into `out_dir`."""
    mapping_path = Path(mapping_path)
    m = tomllib.loads(mapping_path.read_text())
    src = m.get("source", {})
    policy = m.get("policy", {})
    rare_k = int(policy.get("rare_k", 5))
    bounds = policy.get("age_bands", [18, 25, 35, 45, 55, 65])
    trunc = policy.get("truncate_timestamps", "hour")
    schema = canonical()
    stmts = [f"PRAGMA add_parquet_key({sql_str(KEY_NAME)}, '{{{{DEK}}}}')"]
    tables = []
    for table, tm in m["tables"].items():
        opts = dict(src)
        opts.update({k: v for k, v in tm.items() if k not in ("fields", "file", "sheet")})
        if tm.get("sheet") or str(tm["file"]).lower().endswith(".xlsx"):
            raise SystemExit(f"bench: {table}: XLSX sources have no DuckDB counterpart here")
        path = (mapping_path.parent / tm["file"]).resolve()
        enc = (opts.get("encoding") or "auto").lower()
        csv_opts = [f"delim = {sql_str(opts.get('delimiter', ';'))}", "header = true",
                    "all_varchar = true", "quote = '\"'", "escape = '\"'"]
        if enc in ("cp1251", "windows-1251"):
            csv_opts.append("encoding = 'windows-1251'")
        reader = f"read_csv({sql_str(path)}, {', '.join(csv_opts)})"
        decimal_comma = bool(opts.get("decimal_comma", False))
        date_fmt = _strptime_format(opts.get("date_format", "DD.MM.YYYY"))
        dt_fmt = _strptime_format(opts.get("datetime_format", "DD.MM.YYYY HH:mm"))
        ts = schema[table]
        fields = {name: _field_spec(spec) for name, spec in tm["fields"].items()}
        client_col = fields["client_id"]["column"]

        markers = opts.get("null_markers", DEFAULT_NULL_MARKERS)

        def raw(spec):
            # clm: trim; a null marker ("—", "н/д", ...) is empty; then the value map; then
            # empty -> null
            t = f"trim({_ident(spec['column'])})"
            vm = spec.get("map") or {}
            whens = "".join(f" WHEN {t} = {sql_str(k)} THEN {sql_str(v)}" for k, v in vm.items())
            if markers:
                # (a length test first, as clm does: most cells are longer than any marker)
                longest = max(len(x.encode()) for x in markers)
                # (list_contains, not IN: DuckDB plans an IN list of this length as a join)
                whens = (f" WHEN strlen({t}) <= {longest} AND list_contains([{', '.join(sql_str(x) for x in markers)}], {t})"
                         f" THEN NULL" + whens)
            e = f"(CASE{whens} ELSE {t} END)" if whens else t
            return f"nullif({e}, '')"

        free = [f for f in exported_fields(ts)
                if f["class"] == "category" and "values" not in f and f["name"] in fields]
        common = {}
        if free:
            # Pass 1 (as clm's category scan): values used by at least rare_k distinct clients.
            name = f"common_{table}"
            sets = ", ".join(f"({_ident(f['name'])})" for f in free)
            cols = ", ".join(f"{raw(fields[f['name']])} AS {_ident(f['name'])}" for f in free)
            gcols = ", ".join(
                f"CASE WHEN grouping({_ident(f['name'])}) = 0 THEN {sql_str(f['name'])} END" for f in free)
            stmts.append(
                f"CREATE TEMP TABLE {name} AS\n"
                f"SELECT coalesce({gcols}) AS field, coalesce({', '.join(_ident(f['name']) for f in free)}) AS value\n"
                f"FROM (SELECT {cols}, nullif(trim({_ident(client_col)}), '') AS __client FROM {reader})\n"
                f"GROUP BY GROUPING SETS ({sets})\n"
                f"HAVING count(DISTINCT __client) >= {rare_k}")
            for f in free:
                common[f["name"]] = f"(SELECT value FROM {name} WHERE field = {sql_str(f['name'])})"
        # Three levels: l1 the trimmed, mapped source strings (each once); l2 the parsed and
        # converted values; l3 the rows clm would keep (it rejects a row whose required field
        # is empty or unparseable, or whose value is outside a closed vocabulary; it also
        # writes those rows to NAME.rejected.csv on site, which DuckDB does not do here).
        l1, l2, keep, flags = [], [], [], []
        for f in exported_fields(ts):
            out = _ident(f["output"])
            spec = fields.get(f["name"])
            if spec is None:
                l2.append(f"CAST(NULL AS {DUCK_TYPES[f['type']]}) AS {out}")
                continue
            rname = _ident("raw " + f["name"])
            l1.append(f"{raw(spec)} AS {rname}")
            r = rname
            cls, typ = f["class"], f["type"]
            if cls == "identifier":
                norm = spec.get("normalize", "trim")
                idv = r
                if norm == "digits":
                    idv = f"nullif(regexp_replace({r}, '[^0-9]', '', 'g'), '')"
                elif norm == "casefold":
                    idv = f"lower({r})"
                # {{KP}}: the pseudonymization key, hex, filled in by the worker
                prefix = sql_str("{{KP}}" + f["domain"] + "\x1f")
                e = f"substr(sha256({prefix} || {idv}), 1, 32)"
            elif cls == "quasi" and f.get("generalize") == "age_band":
                fmt = _strptime_format(spec["format"]) if "format" in spec else date_fmt
                e = _age_band(f"CAST(try_strptime({r}, {sql_str(fmt)}) AS DATE)", as_of, bounds)
            elif cls == "quasi" and f.get("generalize") == "prefix3":
                e = f"left({r}, 3)"
            elif "values" in f:
                vocab = ", ".join(sql_str(v) for v in f["values"])
                unknown = f.get("unknown", "reject")
                if unknown == "reject":
                    e = f"CASE WHEN {r} IN ({vocab}) THEN {r} END"
                    flag = _ident("ok " + f["name"])
                    l2.append(f"({r} IS NULL OR {r} IN ({vocab})) AS {flag}")
                    flags.append(flag)
                elif unknown == "null":
                    e = f"CASE WHEN {r} IN ({vocab}) THEN {r} END"
                else:
                    e = f"CASE WHEN {r} IS NULL THEN NULL WHEN {r} IN ({vocab}) THEN {r} ELSE {sql_str(unknown)} END"
            elif cls == "category":
                e = f"CASE WHEN {r} IS NULL THEN NULL WHEN {r} IN {common[f['name']]} THEN {r} ELSE 'other' END"
            elif typ == "date":
                fmt = _strptime_format(spec["format"]) if "format" in spec else date_fmt
                e = f"CAST(try_strptime({r}, {sql_str(fmt)}) AS DATE)"
            elif typ == "timestamp":
                fmt = _strptime_format(spec["format"]) if "format" in spec else dt_fmt
                e = f"try_strptime({r}, {sql_str(fmt)})"
                if trunc in ("hour", "day"):
                    e = f"date_trunc({sql_str(trunc)}, {e})"
            elif typ == "money":
                e = f"TRY_CAST({_money(r, decimal_comma)} AS DECIMAL(18,2))"
            elif typ == "int":
                e = f"TRY_CAST({_money(r, True)} AS BIGINT)"
            else:
                e = r
            l2.append(f"{e} AS {out}")
            if f.get("required"):
                # (a pid or string is there when its source value is: test that, not the
                # hash, which DuckDB would then compute twice)
                keep.append(f"{r if typ in ('pid', 'string') else out} IS NOT NULL")
            elif typ in ("date", "timestamp", "money", "int") or f.get("generalize") == "age_band":
                # a value that is there but does not parse rejects the row
                keep.append(f"({r} IS NULL OR {out} IS NOT NULL)")
        keep += flags
        outs = ", ".join(_ident(f["output"]) for f in exported_fields(ts))
        k = int(policy.get("k_anonymity", rare_k))
        qi = [c for c in K_SUPPRESSION_ORDER if any(f["output"] == c and f["name"] in fields
                                                   for f in exported_fields(ts))]
        kanon = table == "clients" and k > 1 and qi
        # k-anonymity needs the source order of the rows (kanon.rs picks rows by it)
        row = _ident("__row")
        if kanon:
            l1.append(f"row_number() OVER () AS {row}")
            l2.append(row)
        query = (f"SELECT {outs}{', ' + row if kanon else ''} FROM (\n  SELECT {', '.join(l2)}, {', '.join(_ident('raw ' + n) for n in fields if _is_exported(ts, n))}\n"
                 f"  FROM (SELECT {', '.join(l1)} FROM {reader})\n)"
                 + (("\nWHERE " + "\n  AND ".join(keep)) if keep else ""))
        if kanon:
            # k-anonymity by local suppression, as clm's kanon.rs: while a class over
            # (gender, age band, branch, postal prefix) holds fewer than k clients, its
            # members lose the postal prefix, then the age band, the gender, the branch.
            part = ", ".join(_ident(c) for c in K_SUPPRESSION_ORDER if c in qi)
            for c in qi:
                query = (f"SELECT * REPLACE (CASE WHEN count(*) OVER (PARTITION BY {part}) < {k} "
                         f"THEN NULL ELSE {_ident(c)} END AS {_ident(c)})\nFROM (\n{query}\n)")
            # Then, as kanon.rs, the class of the clients whose values are all empty is filled
            # up to k with the rows other classes hold beyond k: classes largest first (ties:
            # the one whose first row comes first), rows in source order. (kanon.rs gives up a
            # whole class when those spare rows are too few; that case is not copied here, and
            # the bundle comparison would show it.)
            empty = " AND ".join(f"{_ident(c)} IS NULL" for c in qi)
            fill = _ident("__fill")
            query = (
                f"WITH kq AS (\n{query}\n)\n"
                f"SELECT * EXCLUDE ({fill}, {row}) REPLACE ("
                + ", ".join(f"CASE WHEN {fill} THEN NULL ELSE {_ident(c)} END AS {_ident(c)}" for c in qi)
                + f")\nFROM (\n  SELECT x.*, coalesce(s.sno <= {k} - e.have AND e.have > 0 AND e.have < {k}"
                f" AND e.have < e.n, false) AS {fill}\n"
                f"  FROM kq x\n"
                f"  CROSS JOIN (SELECT count(*) FILTER (WHERE {empty}) AS have, count(*) AS n FROM kq) e\n"
                f"  LEFT JOIN (\n"
                f"    SELECT {row}, row_number() OVER (ORDER BY size DESC, first, {row}) AS sno\n"
                f"    FROM (SELECT {row}, NOT ({empty}) AS has_values,\n"
                f"                 count(*) OVER (PARTITION BY {part}) AS size,\n"
                f"                 min({row}) OVER (PARTITION BY {part}) AS first,\n"
                f"                 row_number() OVER (PARTITION BY {part} ORDER BY {row}) AS rin\n"
                f"          FROM kq)\n"
                f"    WHERE has_values AND rin > {k}\n"
                f"  ) s ON s.{row} = x.{row}\n)")
        target = Path(out_dir) / f"{table}.parquet"
        stmts.append(
            f"COPY (\n{query}\n) TO {sql_str(target)} (FORMAT parquet, COMPRESSION snappy, "
            f"ENCRYPTION_CONFIG {{footer_key: {sql_str(KEY_NAME)}}})")
        tables.append((table, path))
    return stmts, tables


def _is_exported(ts, name):
    return any(f["name"] == name for f in exported_fields(ts))


def _ident(name):
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------------
# b. analysis


def _skip_literal(text, i):
    """The end of the comment or quoted literal that starts at `i` (as clm-analyze's queries.rs
    reads them: `--` to the line's end, `/* */`, '...' and "..." with doubled quotes), or None
    when none starts there."""
    n = len(text)
    c = text[i]
    nxt = text[i + 1] if i + 1 < n else ""
    if c == "-" and nxt == "-":
        j = text.find("\n", i)
        return n if j < 0 else j
    if c == "/" and nxt == "*":
        j = text.find("*/", i + 2)
        return n if j < 0 else j + 2
    if c in "'\"":
        j = i + 1
        while j < n:
            if text[j] == c:
                if j + 1 < n and text[j + 1] == c:
                    j += 2
                    continue
                break
            j += 1
        return j + 1
    return None


def split_statements(text):
    """Splits SQL at ';' outside quotes and comments, as clm-analyze's queries.rs does.
    Returns (statement text with its leading comments, has_sql) pairs."""
    chunks, cur, has_sql, i, n = [], [], False, 0, len(text)
    while i < n:
        c = text[i]
        j = _skip_literal(text, i)
        if j is not None:
            if c in "'\"":
                has_sql = True
            cur.append(text[i:j])
            i = j
            continue
        if c == ";":
            chunks.append(("".join(cur), has_sql))
            cur, has_sql = [], False
            i += 1
            continue
        if not c.isspace():
            has_sql = True
        cur.append(c)
        i += 1
    if "".join(cur).strip():
        chunks.append(("".join(cur), has_sql))
    return chunks


def expand(name, queries_dir=QUERIES):
    """The statements of analysis NAME, includes expanded (each file once), with their
    `-- @output NAME [detail]` directives and the tables it reads."""
    statements, done, tables = [], set(), {"requires": [], "optional": []}

    def visit(file):
        if file in done:
            return
        done.add(file)
        text = (Path(queries_dir) / file).read_text()
        for chunk, has_sql in split_statements(text):
            output = None
            for line in chunk.splitlines():
                line = line.strip()
                if not line.startswith("-- @"):
                    continue
                word, _, rest = line[4:].partition(" ")
                rest = rest.strip()
                if word == "include":
                    visit(rest)
                elif word == "output":
                    parts = rest.split()
                    output = (parts[0], len(parts) > 1 and parts[1] == "detail")
                elif word in ("requires", "optional"):
                    tables[word].append(rest.split(":")[0].strip())
            if has_sql:
                statements.append((chunk.strip(), output))

    visit(f"{name}.sql")
    required = set(tables["requires"])
    optional = [t for t in dict.fromkeys(tables["optional"]) if t not in required]
    return statements, list(dict.fromkeys(tables["requires"])), optional


def profile_values(profile_path=PROFILE):
    p = tomllib.loads(Path(profile_path).read_text())
    values = dict(p["params"])
    values["stage_order"] = list(p["stages"]["order"])
    return values


def literal(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(sql_str(x) for x in v) + "]"
    return sql_str(v)


_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(sql, values):
    """Replaces `$name` outside quotes and comments by the literal of values[name]; the cast
    written after it (`::DATE`, `::BIGINT`, `::VARCHAR[]`) stays and types the literal."""
    out, i, n = [], 0, len(sql)
    while i < n:
        j = _skip_literal(sql, i)
        if j is not None:
            out.append(sql[i:j])
            i = j
            continue
        m = _PLACEHOLDER.match(sql, i)
        if m:
            name = m.group(1)
            if name not in values:
                raise SystemExit(f"bench: placeholder ${name} has no value in the profile")
            out.append(literal(values[name]))
            i = m.end()
            continue
        out.append(sql[i])
        i += 1
    return "".join(out)


# Where DataFusion's and DuckDB's dialects differ, for the SQL of queries/. Each rewrite is a
# regular expression that must match at least once in the file it names (so that a change of
# the library shows here instead of silently running different SQL).
DIALECT_REWRITES = [
    # DuckDB's cardinality() takes maps only; for lists it is len().
    ("lifecycle.sql", r"\bcardinality\(", "len(",
     "cardinality(list) -> len(list)"),
    # DuckDB adds only INTEGER days to a DATE, not BIGINT (freeze_days is Int64).
    ("base.sql", r"m\.end_date \+ coalesce\(m\.freeze_days, 0\)",
     "m.end_date + CAST(coalesce(m.freeze_days, 0) AS INTEGER)",
     "DATE + BIGINT has no DuckDB operator: freeze_days cast to INTEGER"),
    # PIVOT is a DuckDB keyword: quote the CTE named pivot.
    ("cohorts.sql", r"\bpivot\b", '"pivot"', "pivot is a DuckDB keyword: the CTE name quoted"),
    # DATE - INTERVAL is a DATE in DataFusion, a TIMESTAMP in DuckDB: keep period_start a DATE.
    ("periods.sql",
     r"(CAST\(date_trunc\(\$grain::VARCHAR, u\.last_end\) AS DATE\)\s*-\s*CAST\(concat\(b\.k \* u\.size, u\.unit\) AS INTERVAL\))(\s+AS period_start)",
     r"CAST(\1 AS DATE)\2",
     "DATE - INTERVAL is a TIMESTAMP in DuckDB: period_start cast back to DATE"),
]


def analysis_script(name, bundle_dir, bundle_tables, as_of, out_dir, detail=False,
                    queries_dir=QUERIES, profile_path=PROFILE, params=None, label=None):
    """Statements that run analysis NAME on the bundle and write each output to
    out_dir/NAME.OUTPUT.csv. detail=False: the outputs clm-analyze writes by default (not
    marked detail); True: every output. Returns (statements, outputs, rewrites applied)."""
    statements, requires, optional = expand(name, queries_dir)
    values = profile_values(profile_path)
    values["as_of"] = str(as_of)
    values.update(params or {})
    label = label or name
    schema = canonical()
    stmts = [f"PRAGMA add_parquet_key({sql_str(KEY_NAME)}, '{{{{DEK}}}}')",
             # (the dynamic filters a hash join pushes into the probe side's scan hit the
             # same decryption failure as pushed-down WHERE filters: see below)
             "SET disabled_optimizers = 'join_filter_pushdown'"]
    for table in requires + optional:
        files = bundle_tables.get(table)
        if files:
            # OFFSET 0 keeps DuckDB from pushing filters into the Parquet scan: DuckDB (1.5.5
            # and 2.0.0) fails on clm's files with "Computed AES tag differs from read AES
            # tag" whenever a filter is pushed into the scan (full scans read them fine).
            src = " UNION ALL ".join(f"SELECT * FROM {read_parquet(Path(bundle_dir) / f)}" for f in files)
            stmts.append(f"CREATE VIEW {table} AS SELECT * FROM ({src}) OFFSET 0")
        elif table in optional:
            cols = ", ".join(f"{_ident(f['output'])} {DUCK_TYPES[f['type']]}" for f in exported_fields(schema[table]))
            stmts.append(f"CREATE TABLE {table} ({cols})")
        else:
            raise SystemExit(f"bench: analysis {name} needs table {table}, which the bundle lacks")
    # Rewrites apply to the file each names; find which statements came from which file by
    # re-expanding per file.
    applied = []
    file_of = _statement_files(name, queries_dir)
    outputs = []
    for (sql, output), file in zip(statements, file_of):
        for rf, pattern, repl, why in DIALECT_REWRITES:
            if rf == file:
                sql, k = re.subn(pattern, repl, sql, flags=re.S)
                if k:
                    applied.append((rf, why, k))
        sql = substitute(sql, values)
        if output is None:
            stmts.append(sql)
            continue
        oname, is_detail = output
        if is_detail and not detail:
            continue
        target = Path(out_dir) / f"{label}.{oname}.csv"
        outputs.append((oname, target))
        stmts.append(f"COPY (\n{_strip_comments(sql)}\n) TO {sql_str(target)} (FORMAT csv, HEADER true)")
    for rf, pattern, repl, why in DIALECT_REWRITES:
        if rf in set(file_of) and not any(a[0] == rf and a[1] == why for a in applied):
            raise SystemExit(f"bench: the DuckDB rewrite for {rf} ({why}) no longer applies: "
                             f"queries/{rf} changed; update DIALECT_REWRITES in bench/duckdb_sql.py")
    return stmts, outputs, applied


def _statement_files(name, queries_dir):
    files, done = [], set()

    def visit(file):
        if file in done:
            return
        done.add(file)
        text = (Path(queries_dir) / file).read_text()
        for chunk, has_sql in split_statements(text):
            for line in chunk.splitlines():
                line = line.strip()
                if line.startswith("-- @include "):
                    visit(line[len("-- @include "):].strip())
            if has_sql:
                files.append(file)

    visit(f"{name}.sql")
    return files


def _strip_comments(sql):
    # Only whole-line comments (the library has no trailing ones inside strings).
    return "\n".join(l for l in sql.splitlines() if not l.strip().startswith("--"))


# --------------------------------------------------------------------------------------------
# c. audit


def audit_script(bundle_dir, bundle_tables, out_file):
    """Every column of every file read: count(*), min and max of every column,
    count(DISTINCT) of every string column; and the k-anonymity classes of clients."""
    schema = canonical()
    stmts = [f"PRAGMA add_parquet_key({sql_str(KEY_NAME)}, '{{{{DEK}}}}')"]
    parts = []
    for table, files in bundle_tables.items():
        fields = exported_fields(schema[table]) if table in schema else []
        for f in files:
            aggs = ["count(*) AS n"]
            for fd in fields:
                c = _ident(fd["output"])
                aggs.append(f"CAST(min({c}) AS VARCHAR)")
                aggs.append(f"CAST(max({c}) AS VARCHAR)")
                if DUCK_TYPES[fd["type"]] == "VARCHAR":
                    aggs.append(f"CAST(count(DISTINCT {c}) AS VARCHAR)")
            parts.append(f"SELECT {sql_str(f)} AS file, list_value({', '.join(aggs[1:]) or 'NULL'}) AS stats, "
                         f"{aggs[0]} FROM {read_parquet(Path(bundle_dir) / f)}")
    if "clients" in bundle_tables:
        src = " UNION ALL ".join(f"SELECT * FROM {read_parquet(Path(bundle_dir) / f)}"
                                 for f in bundle_tables["clients"])
        parts.append(
            "SELECT 'k-anonymity' AS file, list_value(CAST(min(k) AS VARCHAR), "
            "CAST(sum(CASE WHEN k < 5 THEN k ELSE 0 END) AS VARCHAR), CAST(avg(1.0 / k) AS VARCHAR)) AS stats, "
            "CAST(count(*) AS BIGINT) AS n FROM (SELECT count(*) AS k FROM (" + src + ") "
            "GROUP BY gender, age_band, branch, postal_prefix)")
    stmts.append(f"COPY (\n" + "\nUNION ALL\n".join(parts) + f"\n) TO {sql_str(out_file)} (FORMAT csv, HEADER true)")
    return stmts


# --------------------------------------------------------------------------------------------
# checking an export against clm's


def profile_script(bundle_dir, bundle_tables, out_file):
    """One row per table and column of a bundle: rows, non-null values, distinct values, and
    (for columns that are not pids, whose values differ by design) min, max and sum.
    Comparing two bundles' profiles checks that they hold the same data up to the pid
    function."""
    schema = canonical()
    stmts = [f"PRAGMA add_parquet_key({sql_str(KEY_NAME)}, '{{{{DEK}}}}')"]
    parts = []
    for table, files in bundle_tables.items():
        if table not in schema:
            continue
        src = " UNION ALL ".join(f"SELECT * FROM {read_parquet(Path(bundle_dir) / f)}" for f in files)
        # A column of the canonical schema that a bundle's file lacks (a bundle written before
        # the schema gained it) reads as all-null, as an unmapped column is written: the files
        # are put BY NAME under an empty row set of every column, typed.
        typed = ", ".join(f"CAST(NULL AS {DUCK_TYPES[fd['type']]}) AS {_ident(fd['output'])}"
                          for fd in exported_fields(schema[table]))
        src = f"SELECT {typed} WHERE false UNION ALL BY NAME SELECT * FROM ({src})"
        for fd in exported_fields(schema[table]):
            c = _ident(fd["output"])
            if fd["type"] == "pid":
                mn = mx = sm = "NULL"
            else:
                mn, mx = f"CAST(min({c}) AS VARCHAR)", f"CAST(max({c}) AS VARCHAR)"
                sm = f"CAST(sum({c}) AS VARCHAR)" if fd["type"] in ("money", "int") else "NULL"
            parts.append(f"SELECT {sql_str(table)} AS tbl, {sql_str(fd['output'])} AS col, count(*) AS n, "
                         f"count({c}) AS nonnull, count(DISTINCT {c}) AS distinct_values, "
                         f"{mn} AS min_value, {mx} AS max_value, {sm} AS sum_value FROM ({src})")
    stmts.append("COPY (\n" + "\nUNION ALL\n".join(parts) + f"\nORDER BY tbl, col\n) TO {sql_str(out_file)} (FORMAT csv, HEADER true)")
    return stmts
