"""GAN slimming on the embedded mnist-5k, end to end at real sizes (nbs/08c_slimming): teacher (DCGAN, no DP, public part
only), distillation set, quantisation-aware student with gated channels, compression, exports. Prints one table of
parameters, MACs, size on disk, CPU latency per sample and FID/IS (the packaged MNIST classifier's features), measured
in this run, and writes it as JSON. The compressed generator is then DP fine-tuned on the private part (ε from the RDP accountant, printed).

    python benchmarks/slimming.py --out /tmp/slim    # about 10-20 minutes on 2 CPU cores
"""
import argparse, json, time
from pathlib import Path

import torch

from dpgan_nb.core import read_json
from dpgan_nb.metrics import run_split
from dpgan_nb.slimming import *
from dpgan_nb.train import TrainConfig, load_sampler


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default='slim_bench'); p.add_argument('--teacher-ngf', type=int, default=64)
    p.add_argument('--teacher-epochs', type=float, default=20.); p.add_argument('--n-distill', type=int, default=100_000)
    p.add_argument('--steps', type=int, default=3000); p.add_argument('--rho', type=float, default=0.01)
    p.add_argument('--bits', type=int, default=8); p.add_argument('--threshold', type=float, default=1e-3)
    p.add_argument('--n-eval', type=int, default=2000); p.add_argument('--epsilon', type=float, default=10.)
    p.add_argument('--finetune-epochs', type=float, default=10.)
    p.add_argument('--widths', default=None, help="the student's channels, e.g. 32,16 (default: the teacher's)")
    p.add_argument('--teacher-dir', default=None, help='reuse this folder for the teacher and the distillation set')
    p.add_argument('--perceptual', type=float, default=0., help="student: weight of the teacher discriminator's feature L1 (default 0)")
    p.add_argument('--adversarial', type=float, default=0., help="student: weight of the GAN loss against the teacher's discriminator (default 0)")
    p.add_argument('--d-init', choices=('fresh', 'teacher'), default='fresh', help="fine-tuning: a fresh DP discriminator or the teacher's")
    p.add_argument('--n-inception', type=int, default=0, help='also FID in inception-ts features on this many samples (teacher, compressed, fine-tuned; slow on CPU: ~4 images/s/thread)')
    a = p.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True); t0 = time.time()
    shared = Path(a.teacher_dir) if a.teacher_dir else out
    teacher = shared/'runs'/'teacher'
    if not (teacher/'generator.safetensors').exists():
        train_teacher(ngf=a.teacher_ngf, epochs=a.teacher_epochs, runs_root=str(shared/'runs'), name='teacher')
    print(f"teacher: {teacher} ({time.time() - t0:.0f} s)", flush=True)
    ds = shared/'distill'
    if not (ds/'distill.json').exists(): make_distill_set(teacher, ds, n=a.n_distill)
    print(f"distillation set: {a.n_distill} triples ({time.time() - t0:.0f} s)", flush=True)
    if (out/'student.safetensors').exists() and (out/'student_log.json').exists():   # a rerun reuses the student
        G, log = load_slim(out/'student.safetensors'), json.loads((out/'student_log.json').read_text())
    else:
        G, log = train_student(ds, [int(w) for w in a.widths.split(',')] if a.widths else None, bits=a.bits, rho=a.rho, steps=a.steps,
                               perceptual=a.perceptual, adversarial=a.adversarial)
        save_slim(G, out/'student.safetensors'); (out/'student_log.json').write_text(json.dumps(log))
    print(f"student: mse {log[0]['mse']:.4f} -> {log[-1]['mse']:.4f}, channels {G.widths} -> {log[-1]['channels_alive']} ({time.time() - t0:.0f} s)", flush=True)
    S = compress(G, a.threshold); diff = check_compressed(G, S, a.threshold)
    f_student, f_comp, f_int8 = out/'student.safetensors', save_slim(S, out/'compressed.safetensors'), save_int8(S, out/'compressed_int8.safetensors')
    S8 = load_slim(f_int8); onnx = export_onnx(S, out/'compressed.onnx')
    ft = finetune(SlimConfig(compressed=str(f_comp), teacher=str(teacher), target_epsilon=a.epsilon, epochs=a.finetune_epochs,
                             d_init=a.d_init, runs_root=str(out/'runs'), name=f'finetune_eps{a.epsilon:g}'))
    F_ = load_sampler(ft).G; fp = read_json(ft/'privacy.json')
    print(f"fine-tuned: ε = {fp['epsilon']:.3f} at δ = {fp['delta']:g} ({fp['accountant']}), σ = {fp['noise_multiplier']:.3f}, q = {fp['sample_rate']:.4g}, "
          f"{fp['steps']} steps ({time.time() - t0:.0f} s)", flush=True)
    T = load_sampler(teacher).G
    cfg = TrainConfig.from_dict(read_json(teacher/'config.json')); test = run_split(cfg, 'test')
    rows = []
    for name, m, f in (('teacher (DCGAN, no DP, public part)', T, teacher/'generator.safetensors'), (f'student ({a.bits}-bit QAT)', G, f_student),
                       ('compressed', S, f_comp), (f"compressed + DP fine-tune (ε = {fp['epsilon']:.2f})", F_, ft/'generator.safetensors'),
                       ('compressed, int8 file', S8, f_int8), ('compressed, ONNX', None, Path(onnx['path']))):
        mm = m if m is not None else S
        sc = slim_scores(mm, test, cfg.dataset, a.n_eval) if m is not None else {}
        if a.n_inception and m is not None and name.startswith(('teacher', 'compressed')) and 'int8' not in name:
            sc['fid_inception-ts'] = slim_scores(mm, test, cfg.dataset, a.n_inception, backends=('inception-ts',))['fid']
        rows.append({'model': name, 'params': count_params(mm), 'macs': count_macs(mm), 'bytes': f.stat().st_size,
                     'latency_ms': latency_ms(mm) if m is not None else None, **sc})
    res = {'rows': rows, 'finetune_privacy': {k: fp[k] for k in ('epsilon', 'delta', 'accountant', 'noise_multiplier', 'sample_rate', 'steps')}, 'compressed_vs_masked_max_diff': diff, 'onnx_max_abs_diff_vs_torch': onnx['max_abs_diff_vs_torch'],
           'student_log': log[-1], 'args': vars(a), 'seconds': round(time.time() - t0), 'torch_threads': torch.get_num_threads()}
    (out/'slimming.json').write_text(json.dumps(res, indent=1))
    inc = f" | FID (inception-ts, {a.n_inception})" if a.n_inception else ''
    print(f"\n| model | params | MACs | size on disk | CPU latency / sample | FID ({rows[0].get('backend')}, {a.n_eval}){inc} | IS |\n|---|---|---|---|---|---|---|" + ('---|' if inc else ''))
    for r in rows:
        lat = f"{r['latency_ms']:.2f} ms" if r['latency_ms'] is not None else '(onnxruntime)'
        fid = f"{r['fid']:.1f}" if 'fid' in r else '= compressed'; is_ = f"{r['is']:.2f}" if 'is' in r else ''
        fi = (f" | {r['fid_inception-ts']:.1f}" if 'fid_inception-ts' in r else ' | ') if inc else ''
        print(f"| {r['model']} | {r['params']:,} | {r['macs']:,} | {r['bytes'] / 1024:.0f} KiB | {lat} | {fid}{fi} | {is_} |")
    print(f"\nteacher/compressed parameters: {rows[0]['params'] / rows[2]['params']:.1f}x; compressed vs masked student max diff {diff:.2e}; "
          f"ONNX vs torch max diff {onnx['max_abs_diff_vs_torch']:.2e}; {res['seconds']} s in all")


if __name__ == '__main__': main()
