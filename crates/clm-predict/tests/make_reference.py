"""Reference values for clm-predict's unit tests (src/tests.rs), from the lifetimes library.

Simulates 200 clients of a BG/NBD process (r=1.5, alpha=6, a=0.4, b=1.2; spend per purchase
Gamma-Gamma with p=4, q=3, v=20) over 52 periods with a fixed seed, rounds the amounts to
cents, and prints the summaries and what lifetimes 0.11.3 fits and predicts on them.
Run: python make_reference.py (numpy 1.26, pandas 1.5, scipy 1.11, lifetimes 0.11.3)."""
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

rng = np.random.default_rng(20260101)
rows = []
for c in range(200):
    lam = rng.gamma(1.5, 1 / 6.0)
    p = rng.beta(0.4, 1.2)
    nu = rng.gamma(3.0, 1 / 20.0)
    T = float(rng.integers(8, 53))
    t, times, alive = 0.0, [], True
    while alive:
        t += rng.exponential(1 / lam)
        if t > T:
            break
        times.append(t)
        alive = rng.random() > p
    # the first purchase at time 0 of the client's history: shift so it is the first event
    x = len(times)
    tx = round(times[-1], 2) if x else 0.0
    amounts = [round(rng.gamma(4.0, 1 / nu), 2) for _ in range(x)]
    m = round(float(np.mean(amounts)), 2) if x else 0.0
    rows.append((x, tx, T, m))
f = np.array([r[0] for r in rows], float)
rec = np.array([r[1] for r in rows])
T = np.array([r[2] for r in rows])
m = np.array([r[3] for r in rows])
print("const DATA: [(f64, f64, f64, f64); %d] = [" % len(rows))
for r in rows:
    print("    (%r, %r, %r, %r)," % (float(r[0]), r[1], r[2], r[3]))
print("];")
bgf = BetaGeoFitter().fit(f, rec, T)
print("BG params", list(bgf.params_.values), "objective", bgf._negative_log_likelihood_)
s = pd.Series
for i in [0, 1, 2, 3, 5, 8]:
    print("row", i, "p_alive", bgf.conditional_probability_alive(f[i], rec[i], T[i])[0],
          "E[N(10)]", bgf.conditional_expected_number_of_purchases_up_to_time(10, f[i], rec[i], T[i]))
mask = f > 0
ggf = GammaGammaFitter().fit(f[mask], m[mask])
print("GG params", list(ggf.params_.values), "objective", ggf._negative_log_likelihood_)
ev = ggf.conditional_expected_average_profit(s(f), s(m)).values
clv = ggf.customer_lifetime_value(bgf, s(f), s(rec), s(T), s(m), time=6, discount_rate=0.01, freq="W").values
for i in [0, 1, 2, 3, 5, 8]:
    print("row", i, "expected_value", ev[i], "clv6", clv[i])
