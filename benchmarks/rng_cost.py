"""What 128+ bits of secret per generator cost (issue 29, finding 8): filling a generator's state from OS entropy.

    OMP_NUM_THREADS=1 python benchmarks/rng_cost.py [--n 2000] [--records 60000] [--params 1000000]

`make_private` fills each secret generator's whole state from `os.urandom` (`fill_secret_`: 624 mt19937 words on CPU)
once per run, and in 'secure' mode twice per step (the Poisson sample's and the noise's generator, before each batch).
Printed: the median time of one fill against the old `manual_seed(os_seed())` (32 bits kept), and beside them what a
step draws anyway from the same generators (the Poisson sample over `--records` records, and the noise for `--params`
parameters), whose cost the filling does not change: mt19937's output is as fast whatever its state.
"""
import argparse, statistics, time

import torch

from dpgan_nb.privacy import fill_secret_, os_seed


def median_s(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=2000, help='repetitions of each timing')
    ap.add_argument('--records', type=int, default=60000, help='N: records the Poisson sample draws over')
    ap.add_argument('--params', type=int, default=1_000_000, help="the discriminator's parameter count (noise draws)")
    a = ap.parse_args()
    g = torch.Generator()
    fill = median_s(lambda: fill_secret_(g), a.n)
    old = median_s(lambda: g.manual_seed(os_seed()), a.n)
    sample = median_s(lambda: torch.rand(a.records, generator=g), max(a.n // 20, 5))
    noise = median_s(lambda: torch.normal(0., 1., (a.params,), generator=g), max(a.n // 100, 5))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {a.n} runs")
    print(f"fill_secret_ (624 words from os.urandom, 19,968 bits): {fill * 1e6:8.1f} µs")
    print(f"manual_seed(os_seed()) (the old way, 32 bits kept):     {old * 1e6:8.1f} µs")
    print(f"secure mode, per step (2 fills):                       {2 * fill * 1e6:8.1f} µs (old {2 * old * 1e6:.1f} µs)")
    print(f"for scale, per step: Poisson sample over {a.records:,} records {sample * 1e3:.2f} ms, "
          f"noise for {a.params:,} parameters {noise * 1e3:.2f} ms")
