"""Regenerate every table and figure of ``docs/benchmarks.md`` (both papers' evidence) in one command.

Runs, one after the other, the scripts behind the document at their reduced default size (about
26 minutes on an idle 2-core CPU in total: 1541 s measured) or, with ``--full``, at the papers' size:

    python benchmarks/run_evidence.py             # reduced
    python benchmarks/run_evidence.py --full      # papers' size (days on CPU; use a GPU)
    python benchmarks/run_evidence.py --only gaussian_grid resampling

Each script prints its tables (kept in ``benchmarks/results/evidence_<name>.log``), writes its
CSVs to ``benchmarks/results/`` and its figures to ``docs/figures/``. Needs
``pip install -e ".[bench]"`` (latentmi, the reference implementation, runs in the same scripts).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: name -> script, in the order of docs/benchmarks.md
SCRIPTS = {
    "gaussian_grid": "bench_gaussian_grid.py",
    "sample_complexity": "bench_sample_complexity.py",
    "resampling": "bench_resampling.py",
    "scale_study": "bench_scale_study.py",
    "latent_dim": "bench_latent_dim.py",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="run every script at the papers' size")
    parser.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run only these parts")
    parser.add_argument(
        "--cache-dir", default=None, help="resume: finished fits are kept in <cache-dir>/<name> and skipped on a rerun"
    )
    args = parser.parse_args()
    (HERE / "results").mkdir(exist_ok=True)
    timings = []
    for name in args.only or list(SCRIPTS):
        cmd = [sys.executable, str(HERE / SCRIPTS[name])] + (["--full"] if args.full else [])
        if args.cache_dir:
            cmd += ["--cache-dir", str(Path(args.cache_dir) / name)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        log = HERE / "results" / f"evidence_{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parent)
            for line in proc.stdout:
                if "\r" not in line:  # keep progress bars out of the log
                    out.write(line)
                sys.stdout.write(line)
            code = proc.wait()
        seconds = time.perf_counter() - start
        timings.append((name, seconds, code))
        if code:
            raise SystemExit(f"{name} failed with exit code {code}; see {log}")
    print("\n| part | seconds |\n|---|---|")
    for name, seconds, _ in timings:
        print(f"| {name} | {seconds:.0f} |")
    print(f"| total | {sum(s for _, s, _ in timings):.0f} |")


if __name__ == "__main__":
    main()
