"""The shifted-beta-geometric (sBG) retention model of Fader & Hardie (2007), "How to project
customer retention", and the residual lifetime of Fader & Hardie (2010).

Each customer churns at the end of a period with an unobserved probability θ, constant for them;
θ is Beta(a, b) across customers (a, b: the paper's alpha, beta). A lifetime T (the period in
which a customer churns, T ≥ 1) is then shifted-beta-geometric:

    P(T = 1) = a / (a + b),   P(T = t) = P(T = t - 1) · (b + t - 2) / (a + b + t - 1)
    S(0) = 1,                 S(t) = S(t - 1) · (b + t - 1) / (a + b + t - 1)

computed in log space as P(T = t) = B(a + 1, b + t - 1) / B(a, b) and S(t) = B(a, b + t) / B(a, b).
The retention rate of period t is r_t = S(t) / S(t - 1) = (b + t - 1) / (a + b + t - 1): it rises
with t because the customers most likely to churn leave first.

A cohort is given by its survivor counts s_0 ≥ s_1 ≥ … ≥ s_n (s_t paid beyond period t); in Tend
a period is a month. E[T] = (a + b - 1) / (a - 1) is infinite when a ≤ 1 (fitted values of a
are often below 1), so undiscounted lifetimes are summed over a capped horizon
(DEFAULT_HORIZON_PERIODS).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, hyp2f1

DEFAULT_HORIZON_PERIODS = 60
"""Periods counted by an undiscounted expected lifetime: five years of months."""

LOG_PARAMETER_BOUNDS = (-9.0, 12.0)
"""Bounds on log a and log b in the fit; a fit at a bound is reported as not converged."""

GRADIENT_TOLERANCE = 1e-7
"""A fit has converged when the mean log-likelihood's gradient in (log a, log b) is below this
(the optimiser's own stop may be a line search failing right at the optimum)."""

HOMOGENEOUS_TOTAL = 1e4
"""a + b beyond which an unconverged fit is read as homogeneous churn (Var θ ≈ 0)."""

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Sbg:
    """An sBG model: θ ~ Beta(alpha, beta), each period's churn probability of a customer."""

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0 and math.isfinite(self.alpha + self.beta)):
            raise ValueError(f"sBG needs finite alpha, beta > 0; got {self.alpha}, {self.beta}")

    def churn_probabilities(self, periods: int) -> Floats:
        """P(T = t) for t = 1..periods."""
        return churn_probabilities(self.alpha, self.beta, periods)

    def survival(self, periods: int) -> Floats:
        """S(t) for t = 0..periods."""
        return survival_probabilities(self.alpha, self.beta, periods)

    def retention_rates(self, periods: int) -> Floats:
        """Projected retention rates r_t for t = 1..periods."""
        return retention_rates(self.alpha, self.beta, periods)


@dataclass(frozen=True)
class SbgFit(Sbg):
    """An sBG model fitted by maximum likelihood, with what the fit rests on.

    `converged` is false when the optimiser failed or a parameter reached its bound; the
    standard errors come from the observed information and are None when it is singular.
    """

    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    customers: int
    periods: int
    alpha_standard_error: float | None
    beta_standard_error: float | None


def churn_probabilities(alpha: float, beta: float, periods: int) -> Floats:
    """P(T = t) for t = 1..periods."""
    t = np.arange(1, periods + 1, dtype=np.float64)
    return np.asarray(np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)))


def survival_probabilities(alpha: float, beta: float, periods: int) -> Floats:
    """S(t) = P(T > t) for t = 0..periods."""
    t = np.arange(0, periods + 1, dtype=np.float64)
    return np.asarray(np.exp(betaln(alpha, beta + t) - betaln(alpha, beta)))


def retention_rates(alpha: float, beta: float, periods: int) -> Floats:
    """r_t = (b + t - 1) / (a + b + t - 1) for t = 1..periods."""
    t = np.arange(1, periods + 1, dtype=np.float64)
    return np.asarray((beta + t - 1) / (alpha + beta + t - 1))


def _survivor_array(survivors: Sequence[int], min_length: int) -> NDArray[np.int64]:
    """Survivor counts checked: whole, non-negative, non-increasing, starting above zero."""
    counts = np.asarray(survivors, dtype=np.float64)
    if counts.ndim != 1 or len(counts) < min_length:
        raise ValueError(f"need at least {min_length} survivor counts (s_0, s_1, …)")
    if np.any(counts != np.round(counts)) or np.any(counts < 0) or counts[0] <= 0:
        raise ValueError("survivor counts must be whole, non-negative, and s_0 > 0")
    if np.any(np.diff(counts) > 0):
        raise ValueError("survivor counts must not increase (reactivations are not in sBG)")
    return counts.astype(np.int64)


@dataclass(frozen=True)
class _Tally:
    """Cohorts pooled: `lost[t - 1]` customers lost in period t = 1..n and `censored[t]` still
    there when their cohort's observation ended after period t = 0..n."""

    lost: Floats
    censored: Floats

    @property
    def customers(self) -> int:
        return int(self.lost.sum() + self.censored.sum())

    @property
    def periods(self) -> int:
        return len(self.lost)


def _tally(cohorts: Sequence[Sequence[int]]) -> _Tally:
    arrays = [_survivor_array(c, 1) for c in cohorts]
    periods = max((len(a) - 1 for a in arrays), default=0)
    if periods < 1:
        raise ValueError("need at least one cohort observed for a period (two survivor counts)")
    lost, censored = np.zeros(periods), np.zeros(periods + 1)
    for counts in arrays:
        n = len(counts) - 1
        lost[:n] += counts[:-1] - counts[1:]
        censored[n] += counts[-1]
    return _Tally(lost=lost, censored=censored)


def _log_likelihood_and_gradient(alpha: float, beta: float, tally: _Tally) -> tuple[float, Floats]:
    """LL = Σ_t lost_t ln P(T = t) + Σ_n censored_n ln S(n), and its gradient in (a, b)."""
    lost, censored = tally.lost, tally.censored
    t = np.arange(1, len(lost) + 1, dtype=np.float64)
    n = np.arange(0, len(censored), dtype=np.float64)  # S(0) = 1: n = 0 adds nothing
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + t - 1) - base
    log_s = betaln(alpha, beta + n) - base
    value = float(lost @ log_p + censored @ log_s)
    d_base_a = digamma(alpha) - digamma(alpha + beta)
    d_base_b = digamma(beta) - digamma(alpha + beta)
    dp_a = digamma(alpha + 1) - digamma(alpha + beta + t) - d_base_a
    dp_b = digamma(beta + t - 1) - digamma(alpha + beta + t) - d_base_b
    ds_a = digamma(alpha) - digamma(alpha + beta + n) - d_base_a
    ds_b = digamma(beta + n) - digamma(alpha + beta + n) - d_base_b
    gradient = np.array([lost @ dp_a + censored @ ds_a, lost @ dp_b + censored @ ds_b])
    return value, gradient


def log_likelihood(alpha: float, beta: float, survivors: Sequence[int]) -> float:
    """The sBG log-likelihood of one cohort (Fader & Hardie 2007, eq. 7): customers lost in
    periods 1..n at P(T = t) each, the s_n still there censored at S(n)."""
    return pooled_log_likelihood(alpha, beta, [survivors])


def pooled_log_likelihood(alpha: float, beta: float, cohorts: Sequence[Sequence[int]]) -> float:
    """The sum of the cohorts' log-likelihoods under one (a, b)."""
    return _log_likelihood_and_gradient(alpha, beta, _tally(cohorts))[0]


def _starting_point(tally: _Tally) -> Floats:
    """log a, log b matching period 1's churn and period 2's retention (moments of the data).

    With p_1 = a / (a + b) and r_2 = (b + 1) / (a + b + 1), a + b = (1 - r_2) / (r_2 - 1 + p_1)
    when retention rises; otherwise start near homogeneity (a + b = 20)."""
    at_risk_1 = tally.customers - tally.censored[0]
    p1 = float(np.clip(tally.lost[0] / at_risk_1, 0.01, 0.99))
    total = 20.0
    if tally.periods >= 2:
        at_risk_2 = at_risk_1 - tally.lost[0] - tally.censored[1]
        if at_risk_2 > 0:
            r2 = 1 - tally.lost[1] / at_risk_2
            if 0 < r2 < 1 and r2 > 1 - p1:
                total = float(np.clip((1 - r2) / (r2 - 1 + p1), 0.05, 1e4))
    return np.log([p1 * total, (1 - p1) * total])


def _standard_errors(alpha: float, beta: float, tally: _Tally) -> tuple[float | None, float | None]:
    """Standard errors of (a, b) from the inverse observed information (central differences)."""
    hessian = np.zeros((2, 2))
    point = np.array([alpha, beta])
    for i in range(2):
        step = np.zeros(2)
        step[i] = 1e-5 * point[i]
        up = _log_likelihood_and_gradient(alpha + step[0], beta + step[1], tally)[1]
        down = _log_likelihood_and_gradient(alpha - step[0], beta - step[1], tally)[1]
        hessian[:, i] = (up - down) / (2 * step[i])
    information = -(hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return None, None
    variances = np.diag(covariance)
    if np.any(variances <= 0) or not np.all(np.isfinite(variances)):
        return None, None
    return float(np.sqrt(variances[0])), float(np.sqrt(variances[1]))


def fit_sbg(survivors: Sequence[int]) -> SbgFit:
    """Fit (a, b) to one cohort's survivor counts s_0, s_1, …, s_n by maximum likelihood."""
    _survivor_array(survivors, 2)
    return fit_sbg_pooled([survivors])


def fit_sbg_pooled(cohorts: Sequence[Sequence[int]]) -> SbgFit:
    """Fit one (a, b) to several cohorts' survivor counts, each observed for its own number of
    periods (the rows of a retention triangle, as for a segment). A cohort with a single count
    (seen for no period yet) adds nothing."""
    tally = _tally(cohorts)
    scale = 1.0 / tally.customers  # the mean log-likelihood keeps the tolerances meaningful

    def objective(log_parameters: Floats) -> tuple[float, Floats]:
        alpha, beta = np.exp(log_parameters)
        value, gradient = _log_likelihood_and_gradient(alpha, beta, tally)
        return -value * scale, -gradient * np.array([alpha, beta]) * scale

    def stationary(log_parameters: Floats) -> bool:
        return bool(np.max(np.abs(objective(log_parameters)[1])) < GRADIENT_TOLERANCE)

    bounds = [LOG_PARAMETER_BOUNDS, LOG_PARAMETER_BOUNDS]
    options = {"ftol": 1e-14, "gtol": GRADIENT_TOLERANCE / 10, "maxiter": 1000}
    best = None
    for start in (_starting_point(tally), np.zeros(2)):
        result = minimize(
            objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
        if best is None or result.fun < best.fun:
            best = result
        if stationary(best.x):
            break
    assert best is not None
    alpha, beta = (float(v) for v in np.exp(best.x))
    at_bound = bool(np.any(np.isclose(best.x, LOG_PARAMETER_BOUNDS, atol=1e-6)))
    converged = stationary(best.x) and not at_bound
    message = str(best.message)
    if not converged and alpha + beta > HOMOGENEOUS_TOTAL:
        message = (
            "alpha and beta grow without bound: the data show no heterogeneity (a geometric "
            f"model with churn {alpha / (alpha + beta):.4f} fits); optimiser: {message}"
        )
    alpha_se, beta_se = _standard_errors(alpha, beta, tally)
    return SbgFit(
        alpha=alpha,
        beta=beta,
        log_likelihood=_log_likelihood_and_gradient(alpha, beta, tally)[0],
        converged=converged,
        message=message,
        iterations=int(best.nit),
        customers=tally.customers,
        periods=tally.periods,
        alpha_standard_error=alpha_se,
        beta_standard_error=beta_se,
    )


def discounted_expected_residual_lifetime(model: Sbg, renewals: int, discount_rate: float) -> float:
    """DERL of Fader & Hardie (2010, eq. 6) for a customer who has made `renewals` renewals,
    valued just before the next renewal decision: the expected number of future payments, the
    next one undiscounted, each later one discounted by (1 + d) per period:

        DERL = (b + n) / (a + b + n) · ₂F₁(1, b + n + 1; a + b + n + 1; 1 / (1 + d)).

    With d = 0 this is (b + n) / (a - 1) when a > 1, and infinite otherwise."""
    if discount_rate < 0 or renewals < 0:
        raise ValueError("the discount rate and the renewals must not be negative")
    a, b, n = model.alpha, model.beta, renewals
    if discount_rate == 0:
        return (b + n) / (a - 1) if a > 1 else math.inf
    z = 1 / (1 + discount_rate)
    return float((b + n) / (a + b + n) * hyp2f1(1, b + n + 1, a + b + n + 1, z))


def expected_remaining_periods(
    model: Sbg,
    renewals: int = 0,
    *,
    discount_rate: float = 0.0,
    horizon: int | None = DEFAULT_HORIZON_PERIODS,
) -> float:
    """Expected periods still paid by an active customer who has made `renewals` renewals,
    counting the current one (undiscounted) and discounting each later one by (1 + d):

        Σ_{k=0}^{horizon-1} S(n + k) / S(n) / (1 + d)^k   = 1 + DERL / (1 + d) when horizon is None.

    With renewals = 0 this is a new customer's expected lifetime (E[T] truncated at `horizon`).
    `horizon=None` sums to infinity in closed form: infinite when d = 0 and a ≤ 1."""
    if horizon is None:
        derl = discounted_expected_residual_lifetime(model, renewals, discount_rate)
        return 1 + derl / (1 + discount_rate)
    if horizon < 1 or renewals < 0 or discount_rate < 0:
        raise ValueError("need horizon ≥ 1 and renewals, discount rate ≥ 0")
    a, b = model.alpha, model.beta
    k = np.arange(horizon, dtype=np.float64)
    log_conditional = betaln(a, b + renewals + k) - betaln(a, b + renewals)
    return float(np.sum(np.exp(log_conditional - k * math.log1p(discount_rate))))


def model_clv(
    arpa: float,
    gross_margin: float,
    model: Sbg,
    *,
    renewals: int = 0,
    discount_rate: float = 0.0,
    horizon: int | None = DEFAULT_HORIZON_PERIODS,
) -> float:
    """Model-based CLV (kpis.md) = ARPA * gross margin * expected remaining paid periods.

    ARPA is per period (MRR per paying account for monthly periods); with renewals = 0 it is
    the value of a new customer, comparable to the simple CLV = ARPA * margin ÷ churn rate."""
    if not 0 <= gross_margin <= 1:
        raise ValueError(f"gross margin is a share between 0 and 1, got {gross_margin}")
    periods = expected_remaining_periods(
        model, renewals, discount_rate=discount_rate, horizon=horizon
    )
    return arpa * gross_margin * periods
