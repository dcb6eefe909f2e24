"""The white-box audit's table (nbs/09_audit, issue 29): at target ε ∈ {1, 2, 4, 8}, one white-box run (1000 noise canaries
and 1000 Dirac gradient canaries, 300 steps of B = 64, q = 64/1000 fixed in advance) giving its white-box bounds
(Dirac canaries, and the input canaries by their clipped gradients, against every step's noisy update) and its
black-box bound (the input canaries, the final D), beside the
black-box audit as before (`large-dp`: 1000 noise canaries alone, 300 steps of B = 64, q = B/N following the coins).
Prints a Markdown table; one thread. Usage: OMP_NUM_THREADS=1 python benchmarks/white_box_audit.py [eps ...]"""
import json, platform, subprocess, sys, tempfile, time
import torch
torch.set_num_threads(1)
from dpgan_nb.audit import AuditConfig, audit

eps_list = [float(e) for e in sys.argv[1:]] or [1., 2., 4., 8.]
root = tempfile.mkdtemp()
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, {torch.get_num_threads()} thread, commit {commit}", flush=True)
print('| target ε | run | claimed ε (σ, q, T) | white box, Dirac canaries: correct / guesses, ε ≥ (ceiling) | white box, input canaries | black box, input canaries: correct / guesses, ε ≥ | train s |')
print('|---|---|---|---|---|---|---|', flush=True)
rows = []
for e in eps_list:
    for preset in ('white-box', 'large-dp'):
        r = audit(AuditConfig.preset(preset, runs_root=root, name=f'{preset}-{e:g}', target_epsilon=e))
        p, w = r['privacy'], r.get('white_box')
        wb = f"{w['correct']} / {w['guesses']}, {w['epsilon_lower_bound']:.3f} ({w['ceiling']:.3f})" if w else '—'
        wi = r.get('white_box_input'); wi = f"{wi['correct']} / {wi['guesses']}, {wi['epsilon_lower_bound']:.3f}" if wi else '—'
        print(f"| {e:g} | {preset} (m = {r['m']}{', m_grad = ' + str(w['m']) + ', ' + w['engine'] if w else ''}) | {r['claimed_epsilon']:.3f} "
              f"({p['noise_multiplier']:.4g}, {p['sample_rate']:.4g}, {p['steps']}) | {wb} | {wi} | {r['correct']} / {r['guesses']}, "
              f"{r['epsilon_lower_bound']:.3f} | {r['train_seconds']:.0f} |", flush=True)
        rows.append({k: v for k, v in r.items() if k not in ('coins', 'scores', 'grad_coins', 'grad_scores', 'white_input_scores')})
json.dump(rows, open(f'{root}/rows.json', 'w'), default=str); print(f'rows: {root}/rows.json')
