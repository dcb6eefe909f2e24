#!/usr/bin/env python3
"""Start-up time of the `dpgan` command: `dpgan --help` and every `dpgan CMD --help` (answered by dpgan_nb.console from
dpgan_nb/cli_help.json, no torch) against importing the full command line (`dpgan_nb.cli`, what every command that runs
pays), median of N runs each, measured in one run.

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
    from dpgan_nb.console import COMMANDS
    dpgan = shutil.which('dpgan', path=str(Path(sys.executable).parent)) or 'dpgan'
    fast = median_seconds([dpgan, '--help'], n)
    full = median_seconds([sys.executable, '-c', 'import dpgan_nb.cli'], n)
    subs = {c: median_seconds([dpgan, c, '--help'], n) for c in COMMANDS}
    print(f"dpgan --help:            {fast:.2f} s (median of {n})")
    for c, t in subs.items(): print(f"dpgan {c + ' --help:':<18s}{t:.2f} s")
    print(f"import dpgan_nb.cli:     {full:.2f} s (what every --help cost before dpgan_nb/cli_help.json; a command that runs still pays it)")
    print(f"slowest CMD --help:      {max(subs.values()):.2f} s ({max(subs, key=subs.get)}); ratio import / slowest: {full / max(subs.values()):.0f}x")
