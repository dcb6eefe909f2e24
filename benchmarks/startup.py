#!/usr/bin/env python3
"""Start-up time of the `dpgan` command: `dpgan --help` (answered by dpgan_nb.console, no torch) against importing
the full command line (`dpgan_nb.cli`, what every sub-command pays), median of N runs each, measured in one run.

    python benchmarks/startup.py [N]
"""
import shutil, statistics, subprocess, sys, time
from pathlib import Path

def median_seconds(cmd, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); subprocess.run(cmd, capture_output=True, check=True); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

if __name__ == '__main__':
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    dpgan = shutil.which('dpgan', path=str(Path(sys.executable).parent)) or 'dpgan'
    fast = median_seconds([dpgan, '--help'], n)
    full = median_seconds([sys.executable, '-c', 'import dpgan_nb.cli'], n)
    sub = median_seconds([dpgan, 'budget', '--help'], n)
    print(f"dpgan --help:            {fast:.2f} s (median of {n})")
    print(f"import dpgan_nb.cli:     {full:.2f} s (what `dpgan --help` cost before dpgan_nb.console)")
    print(f"dpgan budget --help:     {sub:.2f} s (a sub-command still imports torch and Opacus)")
    print(f"ratio import / --help:   {full / fast:.0f}x")
