//! clm-predict: the customer-lifetime models of the `lifetimes` Python library, fitted by
//! maximum likelihood in Rust, and the per-client predictions drawn from them.
//!
//! * BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way", Marketing
//!   Science 24(2)): purchases while alive follow a Poisson process of rate λ ~ Gamma(r, α);
//!   after each purchase the client drops out with probability p ~ Beta(a, b). Fitted on the
//!   summary (frequency x, recency t_x, age T) as `lifetimes.BetaGeoFitter` does: the same
//!   log-likelihood (section 7 of the paper, Hardie's note 004), the same objective (the mean
//!   negative log-likelihood plus `penalizer_coef · Σ params²`, default 0), the same time
//!   scaling (recency and T divided by max T while fitting) and the same start (log-parameters
//!   0.1), minimised over the log-parameters.
//! * Gamma-Gamma (Fader and Hardie, note 025): the mean spend per repeat purchase of a client,
//!   fitted as `lifetimes.GammaGammaFitter` on the clients with frequency > 0.
//!
//! The optimiser is `argmin`'s L-BFGS with a More-Thuente line search, on analytic gradients
//! (digamma from `statrs`); Nelder-Mead is the fallback should the line search fail.
//! Predictions: P(alive), the expected number of purchases in the next t periods (which needs
//! the Gauss hypergeometric function 2F1: no maintained crate has it without a C or BLAS
//! dependency, so [`hyp2f1`] is the standard power series, on the Euler-transformed arguments),
//! the Gamma-Gamma conditional expected average value, and the discounted CLV of lifetimes'
//! `customer_lifetime_value`.

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;
use statrs::function::gamma::{digamma, ln_gamma};

/// Why a model could not be fitted or applied. The messages name the problem and what to do;
/// they never hold a client's values.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PredictError {
    #[error("{0}")]
    BadInput(String),
    #[error("the {model} fit did not converge: {why}")]
    NoFit { model: &'static str, why: String },
}

pub type Result<T> = std::result::Result<T, PredictError>;

/// One client's summary in the lifetimes convention (SPEC §5.4): `frequency` = repeat
/// purchase periods, `recency` = last − first purchase period, `t` = end − first purchase
/// period, `monetary` = mean value over the repeat purchase periods (0 when there are none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    pub monetary: f64,
}

impl Summary {
    pub fn new(frequency: f64, recency: f64, t: f64, monetary: f64) -> Summary {
        Summary {
            frequency,
            recency,
            t,
            monetary,
        }
    }
}

/// Checks the summaries as lifetimes' `_check_inputs` does, with messages that say which
/// row (by position) is wrong.
pub fn check_summaries(data: &[Summary]) -> Result<()> {
    if data.len() < 2 {
        return Err(PredictError::BadInput(format!(
            "the models need at least 2 clients with a purchase, got {}: widen the data (more clients, an earlier first date) or check the table the summary reads",
            data.len()
        )));
    }
    for (i, s) in data.iter().enumerate() {
        let row = i + 1;
        let vals = [s.frequency, s.recency, s.t, s.monetary];
        if vals.iter().any(|v| !v.is_finite()) {
            return Err(PredictError::BadInput(format!(
                "summary row {row}: a value is not a finite number"
            )));
        }
        if s.frequency < 0.0 || s.frequency.fract() != 0.0 {
            return Err(PredictError::BadInput(format!(
                "summary row {row}: frequency must be a whole number >= 0"
            )));
        }
        if s.recency < 0.0 || s.recency > s.t {
            return Err(PredictError::BadInput(format!(
                "summary row {row}: recency must lie between 0 and T (a purchase after the as-of date?)"
            )));
        }
        if s.frequency == 0.0 && s.recency != 0.0 {
            return Err(PredictError::BadInput(format!(
                "summary row {row}: recency must be 0 when frequency is 0"
            )));
        }
    }
    if !data.iter().any(|s| s.frequency > 0.0) {
        return Err(PredictError::BadInput(
            "no client has a repeat purchase (frequency > 0 for none): the BG/NBD model cannot be fitted; use a longer history, a finer period unit (day rather than week or month), or another event table".into(),
        ));
    }
    Ok(())
}

/// The log-likelihood, its gradient, of one model over the log-parameters.
trait LogLik {
    const N: usize;
    const NAME: &'static str;
    /// Mean negative log-likelihood plus the penalty, and its gradient over the
    /// log-parameters.
    fn objective(&self, log_params: &[f64]) -> (f64, Vec<f64>);
}

struct Problem<'a, M: LogLik>(&'a M);

impl<M: LogLik> CostFunction for Problem<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let (f, _) = self.0.objective(p);
        Ok(if f.is_finite() { f } else { f64::MAX })
    }
}

impl<M: LogLik> Gradient for Problem<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let (_, g) = self.0.objective(p);
        Ok(g.into_iter()
            .map(|x| if x.is_finite() { x } else { 0.0 })
            .collect())
    }
}

/// What a fit found.
#[derive(Debug, Clone, PartialEq)]
pub struct FitInfo {
    /// The log-likelihood at the optimum, summed over the clients fitted (penalty excluded).
    pub log_likelihood: f64,
    /// lifetimes' `_negative_log_likelihood_`: the mean negative log-likelihood plus penalty.
    pub objective: f64,
    pub clients: usize,
    pub iterations: u64,
    pub solver: &'static str,
}

/// Minimises `model`'s objective from log-parameters `start`.
fn minimise<M: LogLik>(model: &M, start: Vec<f64>) -> Result<(Vec<f64>, f64, u64, &'static str)> {
    let lbfgs = || -> std::result::Result<(Vec<f64>, f64, u64), argmin::core::Error> {
        let ls = MoreThuenteLineSearch::new();
        let solver = LBFGS::new(ls, 10)
            .with_tolerance_grad(1e-10)?
            .with_tolerance_cost(1e-15)?;
        let res = Executor::new(Problem(model), solver)
            .configure(|s| s.param(start.clone()).max_iters(2000))
            .run()?;
        let st = res.state();
        let p = st
            .get_best_param()
            .cloned()
            .ok_or_else(|| argmin::core::Error::msg("no parameter"))?;
        Ok((p, st.get_best_cost(), st.get_iter()))
    };
    let ok = |p: &[f64], f: f64| f.is_finite() && p.iter().all(|x| x.is_finite());
    match lbfgs() {
        Ok((p, f, it)) if ok(&p, f) => return Ok((p, f, it, "L-BFGS")),
        _ => {}
    }
    // Nelder-Mead from a simplex around the start.
    let mut simplex = vec![start.clone()];
    for i in 0..start.len() {
        let mut v = start.clone();
        v[i] += 0.5;
        simplex.push(v);
    }
    let nm = NelderMead::new(simplex)
        .with_sd_tolerance(1e-12)
        .map_err(|e| PredictError::NoFit {
            model: M::NAME,
            why: e.to_string(),
        })?;
    let res = Executor::new(Problem(model), nm)
        .configure(|s| s.max_iters(20_000))
        .run()
        .map_err(|e| PredictError::NoFit {
            model: M::NAME,
            why: e.to_string(),
        })?;
    let st = res.state();
    let p = st.get_best_param().cloned().unwrap_or_default();
    let f = st.get_best_cost();
    if !ok(&p, f) || p.len() != M::N {
        return Err(PredictError::NoFit {
            model: M::NAME,
            why: "the optimiser found no finite optimum".into(),
        });
    }
    Ok((p, f, st.get_iter(), "Nelder-Mead"))
}

/// Fitted BG/NBD parameters (lifetimes' `r`, `alpha`, `a`, `b`), in the time unit of the
/// summaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// The BG/NBD log-likelihood of one client (Fader, Hardie and Lee 2005, eq. 6 as rewritten in
/// section 7: ln L = A1 + A2 + ln(e^A3 + δ(x>0) e^A4)), with its derivatives over
/// (r, α, a, b).
fn bgnbd_ll(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> (f64, [f64; 4]) {
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
    let a3 = -(r + x) * (alpha + t).ln();
    let d1 = [
        digamma(r + x) - digamma(r) + alpha.ln(),
        r / alpha,
        0.0,
        0.0,
    ];
    let d2 = [
        0.0,
        0.0,
        digamma(a + b) - digamma(a + b + x),
        digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x),
    ];
    let d3 = [-(alpha + t).ln(), -(r + x) / (alpha + t), 0.0, 0.0];
    let (l34, d34) = if x > 0.0 {
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln();
        let d4 = [
            -(alpha + tx).ln(),
            -(r + x) / (alpha + tx),
            1.0 / a,
            -1.0 / (b + x - 1.0),
        ];
        let m = a3.max(a4);
        let (e3, e4) = ((a3 - m).exp(), (a4 - m).exp());
        let w3 = e3 / (e3 + e4);
        let mut d = [0.0; 4];
        for k in 0..4 {
            d[k] = w3 * d3[k] + (1.0 - w3) * d4[k];
        }
        (m + (e3 + e4).ln(), d)
    } else {
        (a3, d3)
    };
    let mut d = [0.0; 4];
    for k in 0..4 {
        d[k] = d1[k] + d2[k] + d34[k];
    }
    (a1 + a2 + l34, d)
}

struct BgData<'a> {
    data: &'a [Summary],
    /// lifetimes' `_scale_time`: 1 / max T.
    scale: f64,
    penalizer: f64,
}

impl LogLik for BgData<'_> {
    const N: usize = 4;
    const NAME: &'static str = "BG/NBD";
    fn objective(&self, lp: &[f64]) -> (f64, Vec<f64>) {
        let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let mut sum = 0.0;
        let mut grad = [0.0; 4];
        for s in self.data {
            let (l, d) = bgnbd_ll(
                r,
                alpha,
                a,
                b,
                s.frequency,
                s.recency * self.scale,
                s.t * self.scale,
            );
            sum += l;
            for k in 0..4 {
                grad[k] += d[k];
            }
        }
        let n = self.data.len() as f64;
        let pen: f64 = p.iter().map(|v| v * v).sum::<f64>() * self.penalizer;
        let f = -sum / n + pen;
        let g = (0..4)
            .map(|k| -grad[k] / n * p[k] + 2.0 * self.penalizer * p[k] * p[k])
            .collect();
        (f, g)
    }
}

impl BgNbd {
    /// Fits the model as `lifetimes.BetaGeoFitter(penalizer_coef).fit(frequency, recency, T)`.
    pub fn fit(data: &[Summary], penalizer: f64) -> Result<(BgNbd, FitInfo)> {
        check_summaries(data)?;
        if !penalizer.is_finite() || penalizer < 0.0 {
            return Err(PredictError::BadInput(
                "the penalizer must be a number >= 0".into(),
            ));
        }
        let max_t = data.iter().map(|s| s.t).fold(0.0, f64::max);
        if max_t <= 0.0 {
            return Err(PredictError::BadInput(
                "every client's T is 0 (all first purchases on the as-of date): give a later as-of date".into(),
            ));
        }
        let problem = BgData {
            data,
            scale: 1.0 / max_t,
            penalizer,
        };
        let (lp, f, iterations, solver) = minimise(&problem, vec![0.1; 4])?;
        let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
        let model = BgNbd {
            r: p[0],
            alpha: p[1] / problem.scale,
            a: p[2],
            b: p[3],
        };
        if [model.r, model.alpha, model.a, model.b]
            .iter()
            .any(|v| !v.is_finite() || *v <= 0.0)
        {
            return Err(PredictError::NoFit {
                model: "BG/NBD",
                why: "a parameter ran off to 0 or infinity (too little repeat-purchase data?)"
                    .into(),
            });
        }
        let info = FitInfo {
            log_likelihood: model.log_likelihood(data),
            objective: f,
            clients: data.len(),
            iterations,
            solver,
        };
        Ok((model, info))
    }

    /// The log-likelihood of `data` under these parameters (summed over clients).
    pub fn log_likelihood(&self, data: &[Summary]) -> f64 {
        data.iter()
            .map(|s| {
                bgnbd_ll(
                    self.r,
                    self.alpha,
                    self.a,
                    self.b,
                    s.frequency,
                    s.recency,
                    s.t,
                )
                .0
            })
            .sum()
    }

    /// P(alive | x, t_x, T) (Fader, Hardie and Lee 2005, eq. 12; lifetimes'
    /// `conditional_probability_alive`): 1 for a client without repeat purchases.
    pub fn p_alive(&self, s: &Summary) -> f64 {
        let x = s.frequency;
        if x == 0.0 {
            return 1.0;
        }
        let log_div = (self.r + x) * ((self.alpha + s.t) / (self.alpha + s.recency)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        // expit(-log_div), without overflow
        if log_div >= 0.0 {
            let e = (-log_div).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + log_div.exp())
        }
    }

    /// E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper; lifetimes'
    /// `conditional_expected_number_of_purchases_up_to_time`, its `predict`).
    pub fn expected_purchases(&self, t: f64, s: &Summary) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = s.frequency;
        let c = a + b + x - 1.0;
        let z = t / (alpha + s.t + t);
        // 1 - 2F1(r+x, b+x; c; z) · ((α+T)/(α+T+t))^(r+x). With Euler's transformation
        // 2F1(r+x, b+x; c; z) = (1-z)^(c-r-x-b-x) 2F1(c-r-x, c-b-x; c; z) and 1-z = (α+T)/(α+T+t),
        // the product is 2F1(a+b-1-r, a-1; c; z) · (1-z)^(a-1): small parameters, no overflow.
        let ln_term = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z).ln() + (a - 1.0) * (1.0 - z).ln();
        let ln_term = if ln_term.is_finite() {
            ln_term
        } else {
            hyp2f1(r + x, b + x, c, z).ln() + (r + x) * (1.0 - z).ln()
        };
        let second = -ln_term.exp_m1();
        let first = if (a - 1.0).abs() < 1e-12 {
            // the limit a → 1 is finite; step aside from the removable singularity
            (b + x - 1e-12) / 1e-12
        } else {
            (a + b + x - 1.0) / (a - 1.0)
        };
        let denom = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + s.t) / (alpha + s.recency)).powf(r + x)
        } else {
            1.0
        };
        let v = first * second / denom;
        if v.is_finite() {
            v.max(0.0)
        } else {
            0.0
        }
    }
}

/// Fitted Gamma-Gamma parameters (lifetimes' `p`, `q`, `v`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// One client's Gamma-Gamma log-likelihood (Fader and Hardie, note 025, eq. 1a) and its
/// derivatives over (p, q, v).
fn gg_ll(p: f64, q: f64, v: f64, x: f64, m: f64) -> (f64, [f64; 3]) {
    let px = p * x;
    let l = ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
        + q * v.ln()
        + (px - 1.0) * m.ln()
        + px * x.ln()
        - (px + q) * (x * m + v).ln();
    let d = [
        x * (digamma(px + q) - digamma(px) + m.ln() + x.ln() - (x * m + v).ln()),
        digamma(px + q) - digamma(q) + v.ln() - (x * m + v).ln(),
        q / v - (px + q) / (x * m + v),
    ];
    (l, d)
}

struct GgData<'a> {
    /// (frequency, monetary) of the clients fitted.
    data: &'a [(f64, f64)],
    penalizer: f64,
}

impl LogLik for GgData<'_> {
    const N: usize = 3;
    const NAME: &'static str = "Gamma-Gamma";
    fn objective(&self, lp: &[f64]) -> (f64, Vec<f64>) {
        let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
        let mut sum = 0.0;
        let mut grad = [0.0; 3];
        for &(x, m) in self.data {
            let (l, d) = gg_ll(p[0], p[1], p[2], x, m);
            sum += l;
            for k in 0..3 {
                grad[k] += d[k];
            }
        }
        let n = self.data.len() as f64;
        let pen: f64 = p.iter().map(|v| v * v).sum::<f64>() * self.penalizer;
        let g = (0..3)
            .map(|k| -grad[k] / n * p[k] + 2.0 * self.penalizer * p[k] * p[k])
            .collect();
        (-sum / n + pen, g)
    }
}

impl GammaGamma {
    /// Fits the model as `lifetimes.GammaGammaFitter(penalizer_coef).fit(frequency,
    /// monetary_value)` on the clients with frequency > 0 (the others carry no spend
    /// information). Clients with frequency > 0 but a mean value <= 0 (refunds, free
    /// services) cannot enter the model: they are left out, and their number is returned.
    pub fn fit(data: &[Summary], penalizer: f64) -> Result<(GammaGamma, FitInfo, usize)> {
        let repeat: Vec<&Summary> = data.iter().filter(|s| s.frequency > 0.0).collect();
        let used: Vec<(f64, f64)> = repeat
            .iter()
            .filter(|s| s.monetary > 0.0 && s.monetary.is_finite())
            .map(|s| (s.frequency, s.monetary))
            .collect();
        let left_out = repeat.len() - used.len();
        if used.len() < 2 {
            return Err(PredictError::BadInput(format!(
                "the Gamma-Gamma spend model needs at least 2 clients with a repeat purchase of positive value, got {}: the table has no amounts (visits?) or too few repeat buyers",
                used.len()
            )));
        }
        if !penalizer.is_finite() || penalizer < 0.0 {
            return Err(PredictError::BadInput(
                "the penalizer must be a number >= 0".into(),
            ));
        }
        let problem = GgData {
            data: &used,
            penalizer,
        };
        let (lp, f, iterations, solver) = minimise(&problem, vec![0.1; 3])?;
        let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
        let model = GammaGamma {
            p: p[0],
            q: p[1],
            v: p[2],
        };
        if [model.p, model.q, model.v]
            .iter()
            .any(|v| !v.is_finite() || *v <= 0.0)
        {
            return Err(PredictError::NoFit {
                model: "Gamma-Gamma",
                why: "a parameter ran off to 0 or infinity".into(),
            });
        }
        let ll = used
            .iter()
            .map(|&(x, m)| gg_ll(model.p, model.q, model.v, x, m).0)
            .sum();
        let info = FitInfo {
            log_likelihood: ll,
            objective: f,
            clients: used.len(),
            iterations,
            solver,
        };
        Ok((model, info, left_out))
    }

    /// E[mean value per purchase | x, m] (note 025, eq. 5; lifetimes'
    /// `conditional_expected_average_profit`): a weighted mean of the client's own mean and the
    /// population mean v·p/(q−1). `None` when q <= 1 (the population mean is infinite: lifetimes
    /// returns a negative number there).
    pub fn expected_value(&self, s: &Summary) -> Option<f64> {
        if self.q <= 1.0 {
            return None;
        }
        let x = s.frequency;
        let w = self.p * x / (self.p * x + self.q - 1.0);
        let pop = self.v * self.p / (self.q - 1.0);
        let v = (1.0 - w) * pop + w * s.monetary;
        v.is_finite().then_some(v)
    }
}

/// How many model periods a month has (lifetimes' `_customer_lifetime_value` factor:
/// D 30, W 4.345, M 1).
pub fn periods_per_month(unit: &str) -> Option<f64> {
    match unit {
        "day" => Some(30.0),
        "week" => Some(4.345),
        "month" => Some(1.0),
        _ => None,
    }
}

/// lifetimes' `customer_lifetime_value(bgf, x, t_x, T, m, time=months, discount_rate,
/// freq)`: Σ over months i = 1..months of value · (E[N(i·f)] − E[N((i−1)·f)]) / (1+d)^i,
/// where f is the periods per month and value the Gamma-Gamma expected average value.
pub fn clv(
    bg: &BgNbd,
    value: f64,
    s: &Summary,
    months: u32,
    monthly_discount: f64,
    per_month: f64,
) -> f64 {
    let mut total = 0.0;
    let mut prev = 0.0;
    for i in 1..=months {
        let now = bg.expected_purchases(f64::from(i) * per_month, s);
        total += value * (now - prev) / (1.0 + monthly_discount).powi(i as i32);
        prev = now;
    }
    total
}

/// The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its power series
/// Σ (a)_n (b)_n / ((c)_n n!) z^n (Abramowitz and Stegun 15.1.1; DLMF 15.2.1), summed until a
/// term no longer changes the sum. NaN where the series does not apply (|z| >= 1, or c a
/// non-positive integer).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || (c <= 0.0 && c.fract() == 0.0) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000u32 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term == 0.0 || (term.abs() <= 1e-17 * sum.abs() && n > a.abs().max(b.abs())) {
            break;
        }
        if !sum.is_finite() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests;
