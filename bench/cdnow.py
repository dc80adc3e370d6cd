#!/usr/bin/env python3
"""The real-data check of `clm-analyze run clv_summary` and `run clv` against the lifetimes
library on CDNOW (the CDNOW_master.txt that the PyPI package lifetimes ships; never
committed). Driven by scripts/cdnow.sh:

  cdnow.py prepare OUT [--subset N]   CDNOW → OUT/source/{clients,sales}.csv + mapping.toml
  cdnow.py compare OUT                OUT/summary.csv, OUT/clv.clients.csv, OUT/clv.fit.csv
                                      against lifetimes on the same transactions

The pseudonyms are mapped back to CDNOW customer ids by computing them here with the same
pseudonymization key (pid = hex(HMAC-SHA256(K_p, "client" 0x1F id))[:32], SPEC §3.2), so the
comparison is per customer. Exit 0: every acceptance bound holds; 1: one does not.
"""
import argparse
import csv
import hashlib
import hmac
import os
import sys
import time

# Acceptance (issue 14): summary exact (monetary to 1e-9), parameters within 1e-3 relative,
# P(alive) and expected purchases within 1e-4.
MONETARY_TOL = 1e-9
PARAM_TOL = 1e-3
PRED_TOL = 1e-4
AS_OF = "1998-06-30"  # the last purchase date of CDNOW_master.txt


def master_path():
    import lifetimes

    return os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")


def read_master(subset):
    """(customer id, YYYY-MM-DD, amount text) per purchase; `subset`: the first N customers."""
    rows = []
    with open(master_path(), encoding="ascii") as f:
        next(f)  # header
        for line in f:
            cid, day, _cds, amount = line.split()
            if subset and int(cid) > subset:
                continue
            rows.append((cid, f"{day[:4]}-{day[4:6]}-{day[6:]}", amount))
    return rows


def prepare(out, subset):
    src = os.path.join(out, "source")
    os.makedirs(src, exist_ok=True)
    rows = read_master(subset)
    ids = sorted({r[0] for r in rows})
    with open(os.path.join(src, "clients.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id"])
        for c in ids:
            w.writerow([c])
    with open(os.path.join(src, "sales.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sale_no", "customer_id", "date", "amount"])
        for i, (c, d, a) in enumerate(rows, 1):
            w.writerow([i, c, d, a])
    with open(os.path.join(src, "mapping.toml"), "w") as f:
        f.write(
            """# CDNOW (lifetimes' CDNOW_master.txt) as a clm source export: written by bench/cdnow.py
[source]
encoding = "utf-8"
delimiter = ","
date_format = "YYYY-MM-DD"
datetime_format = "YYYY-MM-DD"
decimal_comma = false

[policy]
rare_k = 1
k_anonymity = 0
truncate_timestamps = "day"

[tables.clients]
file = "clients.csv"

[tables.clients.fields]
client_id = "customer_id"

[tables.sales]
file = "sales.csv"

[tables.sales.fields]
sale_id = "sale_no"
client_id = "customer_id"
sold_at = "date"
amount = "amount"
"""
        )
    print(f"cdnow.py: {len(ids)} customers, {len(rows)} purchases into {src}", file=sys.stderr)


def pid_of(key, cid):
    return hmac.new(key, b"client\x1f" + cid.encode(), hashlib.sha256).hexdigest()[:32]


def read_key(path):
    body = "".join(l.strip() for l in open(path) if l.strip() and not l.startswith("#"))
    return bytes.fromhex(body)


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def compare(out, subset):
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    key = read_key(os.path.join(out, "keys", "pseudonym.key"))
    rows = read_master(subset)
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    tx["date"] = pd.to_datetime(tx["date"])
    tx["amount"] = tx["amount"].astype(float)
    ref = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=AS_OF, freq="D"
    )
    ref.index = [pid_of(key, c) for c in ref.index]
    ref = ref.sort_index()
    failures = []

    def check(what, value, bound):
        ok = value <= bound
        print(f"  {what:<44} {value:.3e}  (bound {bound:g}) {'ok' if ok else 'FAILED'}")
        if not ok:
            failures.append(what)

    print(f"CDNOW: {len(ref)} customers, {len(tx)} purchases, observation end {AS_OF}")
    for name in ["summary.csv", "summary_again.csv"]:
        got = pd.DataFrame(read_csv(os.path.join(out, name))).set_index("client_pid").sort_index()
        if list(got.index) != list(ref.index):
            print(f"{name}: the customers differ from lifetimes'")
            failures.append(f"{name} customers")
            continue
        print(f"clv_summary ({name}) against summary_data_from_transaction_data:")
        for col in ["frequency", "recency", "T"]:
            diff = np.abs(got[col].astype(float).values - ref[col].values).max()
            check(f"max |{col} diff|", diff, 0.0)
        diff = np.abs(got["monetary_value"].astype(float).values - ref["monetary_value"].values).max()
        check("max |monetary_value diff|", diff, MONETARY_TOL)
    a = read_csv(os.path.join(out, "summary.csv"))
    b = read_csv(os.path.join(out, "summary_again.csv"))
    same = a == b
    print(f"  two runs of clv_summary byte-identical: {same}")
    if not same:
        failures.append("summary determinism")

    t0 = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(ref["frequency"], ref["recency"], ref["T"])
    t_bg = time.perf_counter() - t0
    rep = ref[(ref["frequency"] > 0) & (ref["monetary_value"] > 0)]
    t0 = time.perf_counter()
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
    t_gg = time.perf_counter() - t0
    fit = {(r["model"], r["parameter"]): float(r["value"]) for r in read_csv(os.path.join(out, "clv.fit.csv"))}
    print(f"parameters (lifetimes fit: BG/NBD {t_bg:.2f} s, Gamma-Gamma {t_gg:.2f} s):")
    print(f"  {'':14} {'clm':>14} {'lifetimes':>14} {'rel. error':>11}")
    for model, names, params in [
        ("bg_nbd", ["r", "alpha", "a", "b"], bgf.params_),
        ("gamma_gamma", ["p", "q", "v"], ggf.params_),
    ]:
        for n in names:
            mine, theirs = fit[(model, n)], float(params[n])
            rel = abs(mine - theirs) / abs(theirs)
            print(f"  {model + ' ' + n:14} {mine:14.6f} {theirs:14.6f} {rel:11.2e}")
            if rel > PARAM_TOL:
                failures.append(f"{model} {n}")
    n = len(ref)
    # lifetimes' objective is the mean negative log-likelihood in time scaled by s = 1/max T;
    # in the data's own unit the log-likelihood is that one plus ln(s) × Σ frequency
    scaled = -bgf._negative_log_likelihood_ * n
    ll_theirs = scaled + np.log(1.0 / ref["T"].max()) * ref["frequency"].sum()
    ll_mine = fit[("bg_nbd", "log_likelihood")]
    rel = abs(ll_mine - ll_theirs) / abs(ll_theirs)
    print(f"  BG/NBD log-likelihood: clm {ll_mine:.4f}, lifetimes {ll_theirs:.4f} (rel. error {rel:.2e})")
    if rel > PARAM_TOL:
        failures.append("bg_nbd log-likelihood")

    got = pd.DataFrame(read_csv(os.path.join(out, "clv.clients.csv"))).set_index("client_pid").sort_index()
    f, r, T = ref["frequency"], ref["recency"], ref["T"]
    horizon = float(os.environ.get("CDNOW_HORIZON", "30"))
    pa = bgf.conditional_probability_alive(f, r, T)
    ep = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, T)
    print(f"per customer ({n}):")
    check("max |P(alive) diff|", np.abs(got["p_alive"].astype(float).values - pa).max(), PRED_TOL)
    check(f"max |expected purchases ({horizon:g} days) diff|",
          np.abs(got["expected_purchases"].astype(float).values - ep).max(), PRED_TOL)
    ev = ggf.conditional_expected_average_profit(f, ref["monetary_value"])
    clv = ggf.customer_lifetime_value(bgf, f, r, T, ref["monetary_value"], time=12, discount_rate=0.01, freq="D")
    rel_ev = (np.abs(got["expected_value"].astype(float).values - ev.values) / np.abs(ev.values)).max()
    rel_clv = (np.abs(got["clv"].astype(float).values - clv.values) / np.maximum(np.abs(clv.values), 1.0)).max()
    print(f"  max rel. |expected value diff| {rel_ev:.3e}; max |CLV diff| / max(CLV, 1) {rel_clv:.3e} (information)")
    if failures:
        print("cdnow.py: FAILED: " + ", ".join(failures))
        return 1
    print("cdnow.py: every acceptance bound holds")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["prepare", "compare"])
    ap.add_argument("out")
    ap.add_argument("--subset", type=int, default=0, help="only customers 1..N (0: all)")
    a = ap.parse_args()
    if a.command == "prepare":
        prepare(a.out, a.subset)
        return 0
    return compare(a.out, a.subset)


if __name__ == "__main__":
    sys.exit(main())
