"""Instruction counts of heapmark's default mode, which a busy machine does not
distort: valgrind --tool=callgrind on a small-object churn loop, plain and
under `heapmark run`, for one or more builds (each installed in its own venv).

    python3 bench/instructions.py VENV_PYTHON [OTHER_VENV_PYTHON ...] [--runs 2]

Prints a markdown table: instructions of the plain interpreter, of the
profiled process under `heapmark run` (each run), and their ratio (mean of the
runs).  PYTHONHASHSEED=0 and the sampler's seed fix what can be fixed, not
the addresses heapmark's hash maps see, so two runs of one build still differ
a little; a change smaller than that spread is no change.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

from churn import CHURN, instructions

CHURN_N = "100000"  # iterations


def say(message):
    sys.stderr.write("instructions: %s\n" % message)


def callgrind(command, workdir, script):
    """Instructions of the process that ran script (heapmark's CLI, which
    starts it, is not counted)."""
    for old in glob.glob(os.path.join(workdir, "callgrind.out.*")):
        os.remove(old)
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--trace-children=yes",
            "--callgrind-out-file=" + os.path.join(workdir, "callgrind.out.%p"),
        ]
        + command,
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )
    counts = []
    for out in glob.glob(os.path.join(workdir, "callgrind.out.*")):
        with open(out) as f:
            head = f.read(4096)
        if script in head and "heapmark/cli" not in head and "-m heapmark" not in head:
            counts.append(instructions(out))
    if not counts:
        raise SystemExit("instructions: no callgrind output names %s" % script)
    return max(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "pythons",
        nargs="+",
        metavar="VENV_PYTHON",
        help="the python of a venv where heapmark is installed",
    )
    parser.add_argument("--runs", type=int, default=2, help="heapmark runs per build (2)")
    args = parser.parse_args(argv)
    if not shutil.which("valgrind"):
        raise SystemExit("instructions: valgrind is not installed")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        script = os.path.join(workdir, "churn.py")
        with open(script, "w") as f:
            f.write(CHURN)
        for python in [os.path.abspath(p) for p in args.pythons]:
            heapmark = os.path.join(os.path.dirname(python), "heapmark")
            if not os.path.exists(heapmark):
                raise SystemExit("instructions: no heapmark next to %s" % python)
            say("%s: plain" % python)
            plain = callgrind([python, script, CHURN_N], workdir, script)
            runs = []
            for i in range(args.runs):
                say("%s: heapmark run %d" % (python, i + 1))
                runs.append(
                    callgrind(
                        [
                            heapmark,
                            "run",
                            "--seed",
                            "7",
                            "-o",
                            os.path.join(workdir, "out-%d" % i),
                            script,
                            CHURN_N,
                        ],
                        workdir,
                        script,
                    )
                )
            rows.append((python, plain, runs, sum(runs) / len(runs) / plain))
    print("| build | plain python | `heapmark run`, each run | ratio (mean) |")
    print("|---|---:|---:|---:|")
    for python, plain, runs, ratio in rows:
        print(
            "| %s | {:,} | %s | %.4f |".format(plain)
            % (python, " / ".join("{:,}".format(r) for r in runs), ratio)
        )
    if len(rows) > 1:
        base = rows[0][3]
        for python, _, _, ratio in rows[1:]:
            print(
                "\n%s against %s: %+.2f%% of the profiled run's instructions"
                % (python, rows[0][0], 100 * (ratio - base) / base)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
