"""ε checked by a tool that is not ours: Google's `dp_accounting` (PLD and RDP) against `dpgan_nb.privacy.epsilon_for`,
a real training run's accountant (n_critic > 1), a run's `privacy.json` and `dpgan budget --json`.

The mechanism every figure describes: T steps of the Poisson-subsampled Gaussian mechanism (rate q, noise multiplier σ),
neighbouring data sets differing by adding or removing one record (dp_accounting's ADD_OR_REMOVE_ONE, Opacus's relation).

Two references from dp_accounting:
- PLD (`pld.PLDAccountant`, connect-the-dots discretisation): a pessimistic estimate, i.e. an upper bound on the true ε,
  and a tight one. Our accountants must never report less (up to PLD_TOL, below); PRV should sit just above it.
- RDP (`rdp.RdpAccountant` over WIDE_ORDERS): the same bound our 'rdp' accountant computes (Opacus), from independent code;
  within 2% wherever both are computed over the same orders and converge (see `rdp_comparable`).
"""
import functools, json, logging, math, os, shutil, subprocess, sys, warnings
from pathlib import Path

import numpy as np
import pytest

import dp_accounting
from dp_accounting import pld, rdp
from opacus.accountants import RDPAccountant

from dpgan_nb.privacy import ACCOUNTANTS, epsilon_for, num_steps, sample_rate

# dp_accounting logs (absl) each fractional RDP order whose series does not converge and drops it (its RDP becomes inf);
# `rdp_comparable` reads those infs, so the log lines are noise here
logging.getLogger('absl').setLevel(logging.ERROR)

# Accountants under test. 'gdp' (if still listed) is skipped: it is the CLT approximation of Dong et al., not a bound, and it
# reports LESS than PLD (q=0.004, σ=0.6, T=3000, δ=1e-5: 3.63 against PLD's 5.12) -- finding 5, removed by the lead.
CHECKED = [pytest.param(a, marks=pytest.mark.skip(reason="'gdp' is an approximation that under-reports ε (finding 5)"))
           if a == 'gdp' else a for a in ACCOUNTANTS]

PLD_INTERVAL = 1e-4  # value_discretization_interval of the PLD reference
# The connect-the-dots estimate is dp_accounting's pessimistic bound at a given interval; how much it still moves with the
# interval was measured on GRID (plus (0.5, 2, 3000)) against the interval 1e-5: at most 4.2e-4 (q=0.004, σ=10, T=3000,
# δ=1e-6: 0.07916 at 1e-4, 0.07874 at 1e-5), elsewhere at most 1.7e-4 (q=0.5, σ=2, T=3000: 157.29206 vs 157.29223),
# mostly < 3e-5. An accountant may sit that far below the 1e-4 figure without claiming more privacy than the mechanism
# has; PLD_TOL allows 1e-3 absolute, nothing relative.
PLD_TOL = 1e-3

OPACUS_ORDERS = list(RDPAccountant.DEFAULT_ALPHAS)  # what our 'rdp' minimises over: 1.1 .. 10.9 by 0.1, then 12 .. 63
WIDE_ORDERS = sorted(set([1 + i / 100 for i in range(1, 10)] + OPACUS_ORDERS + [64, 80, 96, 128, 192, 256, 512, 1024]))

# (q, σ, T): q from 0.004 to 0.5, σ from 0.6 to 10, T from 1 to 3000; each checked at δ = 1e-5 and 1e-6.
# Left out for time: (0.5, 0.6, 3000) (Opacus's PRV takes ~1 min and returns inf there, which is safe) and (0.5, 2, 3000)
# (PRV 12-25 s; PLD 157.29, ours rdp 163.94, prv 157.31 at δ=1e-5 when run by hand).
GRID = [(0.004, 0.6, 3000), (0.004, 1.0, 300), (0.004, 2.0, 1), (0.004, 10.0, 3000),
        (0.02, 0.6, 300), (0.02, 0.8, 3000), (0.02, 2.0, 3000), (0.02, 10.0, 30),
        (0.1, 0.6, 30), (0.1, 1.0, 3000), (0.1, 2.0, 300), (0.1, 10.0, 1),
        (0.5, 0.6, 1), (0.5, 1.0, 30), (0.5, 10.0, 3000)]
DELTAS = (1e-5, 1e-6)


def event(sigma, q): return dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))


@functools.lru_cache(maxsize=None)
def _pld(sigma, q, steps):
    a = pld.PLDAccountant(dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE, value_discretization_interval=PLD_INTERVAL)
    a.compose(event(sigma, q), int(steps))
    return a


def eps_pld(sigma, q, steps, delta)->float:
    "dp_accounting's PLD ε (pessimistic connect-the-dots estimate)."
    return float(_pld(float(sigma), float(q), int(steps)).get_epsilon(delta))


@functools.lru_cache(maxsize=None)
def _rdp(sigma, q, steps):
    a = rdp.RdpAccountant(WIDE_ORDERS, dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)
    a.compose(event(sigma, q), int(steps))
    return a


def eps_rdp(sigma, q, steps, delta)->tuple[float, float]:
    "dp_accounting's RDP (ε, optimal order) over WIDE_ORDERS."
    e, o = _rdp(float(sigma), float(q), int(steps)).get_epsilon_and_optimal_order(delta)
    return float(e), float(o)


def opacus_order(sigma, q, steps, delta)->float:
    "The order at which our 'rdp' accountant (Opacus) attains its ε."
    acc = RDPAccountant(); acc.history = [(sigma, q, int(steps))]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return float(acc.get_privacy_spent(delta=delta)[1])


def rdp_comparable(sigma, q, steps, delta)->bool:
    """Whether dp_accounting's RDP and ours are the same computation here: both optima interior to Opacus's range (1.1, 63)
    (at its edges Opacus's narrower range makes ours larger: safe, not comparable), and dp_accounting's fractional-order
    series converged at every Opacus order from the integer below our optimum upwards. Where the series fails at orders
    just below the optimum it is also off near them (q=0.1, σ=1, T=3000: it fails at α <= 1.5 and is 20% high at 1.6, see
    `test_opacus_fractional_rdp_is_the_exact_renyi_divergence`); a failure far below (α <= 1.6 when the optimum is 2.4)
    leaves the optimum alone."""
    a = _rdp(float(sigma), float(q), int(steps))
    vec = dict(zip(WIDE_ORDERS, np.asarray(getattr(a, '_rdp'))))  # dp_accounting's RDP per order (inf: did not converge)
    ours_at, lo, hi = opacus_order(sigma, q, steps, delta), OPACUS_ORDERS[0], OPACUS_ORDERS[-1]
    if not all(np.isfinite(vec[o]) for o in OPACUS_ORDERS if o >= math.floor(ours_at)): return False
    return lo < eps_rdp(sigma, q, steps, delta)[1] < hi and lo < ours_at < hi


INT_ORDERS = list(range(2, 64))  # integer orders in Opacus's range: both libraries compute these in closed form


def eps_rdp_int(sigma, q, steps, delta)->float:
    "dp_accounting's RDP ε over the integer orders 2 .. 63 only."
    a = rdp.RdpAccountant(INT_ORDERS, dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)
    a.compose(event(sigma, q), int(steps))
    return float(a.get_epsilon(delta))


def ours(sigma, q, steps, delta, accountant)->float:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return epsilon_for(sigma, q, steps, delta, accountant)


# ---------------------------------------------------------------- epsilon_for on the grid

@pytest.mark.parametrize('accountant', CHECKED)
def test_epsilon_for_never_below_pld(accountant):
    ratios = []
    for q, s, T in GRID:
        for d in DELTAS:
            e, ref = ours(s, q, T, d, accountant), eps_pld(s, q, T, d)
            assert e >= ref - PLD_TOL, (f"{accountant} claims MORE privacy than PLD: q={q}, σ={s}, T={T}, δ={d}: "
                                        f"ε = {e:.6f} < PLD {ref:.6f}")
            if accountant == 'prv':  # tightness: Opacus's PRV returns its estimate + eps_error (0.01)
                assert e <= 1.02 * ref + 0.012, f"prv far above PLD at q={q}, σ={s}, T={T}, δ={d}: {e:.5f} vs {ref:.5f}"
            ratios.append((e / ref, q, s, T, d))
    worst = min(ratios)
    print(f"{accountant}: min ε/ε_PLD = {worst[0]:.4f} at q={worst[1]}, σ={worst[2]}, T={worst[3]}, δ={worst[4]:g}; "
          f"max = {max(ratios)[0]:.4f}")


def test_rdp_matches_dp_accounting_rdp():
    compared = []
    for q, s, T in GRID:
        for d in DELTAS:
            e, (ref, order) = ours(s, q, T, d, 'rdp'), eps_rdp(s, q, T, d)
            if rdp_comparable(s, q, T, d):
                assert abs(e / ref - 1) <= 0.02, f"q={q}, σ={s}, T={T}, δ={d}: ours {e:.5f} vs dp_accounting {ref:.5f} (order {order})"
                compared.append((q, s, T, d, order))
            elif order > OPACUS_ORDERS[-1]:  # the optimum is beyond Opacus's largest order: ours can only be larger
                assert e >= ref * 0.98, (q, s, T, d, e, ref, order)
            # everywhere: ours minimises over a superset of the integer orders 2 .. 63, whose values both compute exactly
            assert e <= eps_rdp_int(s, q, T, d) * (1 + 1e-9), (q, s, T, d, e, eps_rdp_int(s, q, T, d))
    # the comparison is not vacuous: 20 of the 30 points qualify (optimal orders 2.1 .. 44), measured
    assert len(compared) >= 18, compared


def test_opacus_fractional_rdp_is_the_exact_renyi_divergence():
    """Where dp_accounting's fractional-order series does not converge (so `rdp_comparable` is False), check the RDP our
    accountant uses against the definition, by numerical integration: A_α = E_{z~N(0,σ²)}[((1-q) + q e^{(2z-1)/(2σ²)})^α]
    (Mironov et al. 2019), RDP per step = log(A_α)/(α-1). dp_accounting's value at (q=0.1, σ=1, α=1.6) is 20% higher
    (45.8 vs 38.16 for 3000 steps): its series stops early, which is safe but not the exact divergence."""
    from scipy import integrate, stats
    from opacus.accountants.analysis.rdp import compute_rdp
    for q, s, a in [(0.1, 1.0, 1.6), (0.1, 1.0, 1.3), (0.5, 2.0, 1.3), (0.02, 0.8, 2.7), (0.004, 0.6, 3.3)]:
        # integrand in log space; it peaks near z = α, and is < e^-400 of its peak outside [-40σ, α + 40σ]
        f = lambda z: np.exp(stats.norm.logpdf(z, 0, s) + a * np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * s * s)))
        cuts = [-40 * s, -5 * s, 0., a, a + 5 * s, a + 40 * s]
        A = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] for lo, hi in zip(cuts, cuts[1:]))
        exact = math.log(A) / (a - 1)
        got = float(compute_rdp(q=q, noise_multiplier=s, steps=1, orders=[a])[0])
        assert abs(got / exact - 1) < 1e-6, (q, s, a, got, exact)


# ---------------------------------------------------------------- a real trainer: n_critic > 1

def test_n_critic_counts_every_discriminator_step():
    "Every discriminator step is a private step: T = floor(epochs·N/B) whatever n_critic, and the accountant counts them all."
    from dpgan_nb.train import TrainConfig, Trainer
    # T = floor(1.125·256/32) = 9: the last round has one D step; σ given (no search for it), PRV as the run's accountant
    cfg = TrainConfig.preset('tiny', n_critic=2, epochs=1.125, accountant='prv', noise_multiplier=0.8, target_epsilon=None)
    tr = Trainer(cfg, callbacks=[])
    n = {'d': 0, 'g': 0}
    d_step, g_step = tr.priv.step, tr.g_step
    def count_d(*a, **k): n['d'] += 1; return d_step(*a, **k)
    def count_g(*a, **k): n['g'] += 1; return g_step(*a, **k)
    tr.priv.step, tr.g_step = count_d, count_g
    tr.fit()
    N, B = len(tr.data), cfg.batch_size
    T = num_steps(cfg.epochs, N, B)
    hist = tr.priv.accountant.history
    assert (N, T) == (256, 9)
    assert n['d'] == T == tr.step == tr.priv.n_steps == sum(h[2] for h in hist)
    assert n['g'] == tr.round == math.ceil(T / cfg.n_critic) == 5
    assert {(h[0], h[1]) for h in hist} == {(tr.budget.noise_multiplier, sample_rate(N, B))}
    sigma, q = tr.budget.noise_multiplier, sample_rate(N, B)
    e, ref = tr.report().epsilon, eps_pld(sigma, q, T, cfg.delta)
    assert ref - PLD_TOL <= e <= 1.02 * ref + 0.012, (e, ref)  # prv: at PLD, never below
    # counting generator rounds instead would claim less: PLD at 5 steps is well below
    assert eps_pld(sigma, q, n['g'], cfg.delta) < 0.9 * e


# ---------------------------------------------------------------- a run's privacy.json

def test_privacy_json_of_a_real_run(tmp_path):
    from dpgan_nb.train import TrainConfig, train
    cfg = TrainConfig.preset('tiny', runs_root=str(tmp_path))
    tr = train(cfg, progress_bar=False)
    p = json.loads((tr.run_dir / 'privacy.json').read_text())
    N = 256
    if (tr.run_dir / 'data.json').exists():
        N = json.loads((tr.run_dir / 'data.json').read_text())['private']['n']
    assert N == len(tr.data) == 256
    assert p['accountant'] == 'rdp' and p['mode'] == 'gc' and p['delta'] == cfg.delta
    assert p['sample_rate'] == sample_rate(N, cfg.batch_size) and p['steps'] == num_steps(cfg.epochs, N, cfg.batch_size) == 8
    s, q, T, d = p['noise_multiplier'], p['sample_rate'], p['steps'], p['delta']
    assert p['epsilon'] >= eps_pld(s, q, T, d) - PLD_TOL
    assert rdp_comparable(s, q, T, d)
    assert abs(p['epsilon'] / eps_rdp(s, q, T, d)[0] - 1) <= 0.02, (p, eps_rdp(s, q, T, d))


# ---------------------------------------------------------------- dpgan budget --json

DPGAN = shutil.which('dpgan', path=str(Path(sys.executable).parent)) or shutil.which('dpgan')
ENV = dict(os.environ, DPGAN_NO_PROGRESS='1', PYTHONWARNINGS='ignore')


def budget_json(*args)->dict:
    assert DPGAN, "the dpgan console script is not installed (pip install -e .)"
    r = subprocess.run([DPGAN, 'budget', *map(str, args), '--json'], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, f"dpgan budget {args} failed:\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_budget_cli_matches_dp_accounting():
    # σ given, PRV: ε at PLD (never below, within PRV's own error above)
    b = budget_json('--dataset-size', 60000, '--batch-size', 256, '--noise-multiplier', 1.1, '--epochs', 10,
                    '--delta', 1e-5, '--accountant', 'prv')
    s, q, T, d = b['noise_multiplier'], b['sample_rate'], b['steps'], b['delta']
    assert (q, T) == (256 / 60000, 2343) and b['accountant'] == 'prv'
    ref = eps_pld(s, q, T, d)
    assert ref - PLD_TOL <= b['epsilon'] <= 1.02 * ref + 0.012, (b, ref)
    # target ε, RDP: the σ it chose spends what dp_accounting's RDP says, and no more than the target
    b = budget_json('--dataset-size', 5000, '--batch-size', 50, '--target-epsilon', 3, '--epochs', 5, '--delta', 1e-6)
    s, q, T, d = b['noise_multiplier'], b['sample_rate'], b['steps'], b['delta']
    assert (q, T, b['accountant']) == (0.01, 500, 'rdp')
    assert rdp_comparable(s, q, T, d)
    assert abs(b['epsilon'] / eps_rdp(s, q, T, d)[0] - 1) <= 0.02 and b['epsilon'] <= 3
    assert eps_pld(s, q, T, d) - PLD_TOL <= b['epsilon']
