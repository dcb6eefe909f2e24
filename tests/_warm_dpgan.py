"""A warm `dpgan`: imports dpgan_nb.cli (torch, Opacus) once, then runs each command in a fresh forked process.

tests/test_bad_inputs.py runs some 80 refused commands; each fresh `dpgan` process spends ~3.5 s of CPU importing torch
before it refuses its input in milliseconds. This server pays the import once: it reads one JSON job per line on stdin
({"id", "argv", "cwd", "out", "err"}), forks a child per job (at most `N` at a time) that changes into `cwd`, sends its
stdout/stderr to the files `out`/`err` and calls the console script's `main(argv)`, exactly what the installed `dpgan`
calls, and writes {"id", "rc"} per finished job on stdout. The server itself never computes with torch before forking
(so no thread pool is inherited). A handful of cases still run through the installed console script itself.

    python tests/_warm_dpgan.py N        # batch: all jobs from stdin, N at a time (tests/test_bad_inputs.py)
    python tests/_warm_dpgan.py stream   # one job at a time, each answered before the next is read (tests/test_cli.py)
"""
import json, os, sys

os.environ['DPGAN_NO_PROGRESS'] = '1'
import warnings
warnings.simplefilter('ignore')
import dpgan_nb.cli  # noqa: F401  (the import the children share)
from dpgan_nb.console import main


def child(job):
    os.chdir(job['cwd'])
    for fd, path in ((1, job['out']), (2, job['err'])):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); os.dup2(f, fd); os.close(f)
    sys.stdout = os.fdopen(1, 'w', buffering=1); sys.stderr = os.fdopen(2, 'w', buffering=1)
    sys.argv = ['dpgan', *job['argv']]
    try: rc = main(job['argv'])
    except SystemExit as e: rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback; traceback.print_exc(); rc = 1
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(int(rc or 0))


def serve(n):
    jobs = [json.loads(l) for l in sys.stdin if l.strip()]
    running = {}
    while jobs or running:
        while jobs and len(running) < n:
            job = jobs.pop(0); pid = os.fork()
            if pid == 0: child(job)
            running[pid] = job['id']
        pid, status = os.wait()
        print(json.dumps({'id': running.pop(pid), 'rc': os.waitstatus_to_exitcode(status)}), flush=True)


def stream():
    for line in sys.stdin:
        if not line.strip(): continue
        job = json.loads(line); pid = os.fork()
        if pid == 0: child(job)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({'id': job['id'], 'rc': os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == '__main__':
    arg = sys.argv[1] if len(sys.argv) > 1 else '2'
    stream() if arg == 'stream' else serve(int(arg))
