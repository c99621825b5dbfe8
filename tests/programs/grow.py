"""Ground truth: memory that grows step by step, for the out-of-memory tests.

argv: truth.json STEP_MB TOTAL_MB [--usage FILE BASE_MB] [--available FILE TOTAL_MB AVAIL_MB]
      [--pause S] [--too-big MB] [--until-vm PERCENT] [--watch DIR [--wait-report S]]

Holds one more STEP_MB bytearray per step until TOTAL_MB is held (or, with
--until-vm, until the address space is PERCENT of RLIMIT_AS).  With a
fake /proc and cgroup tree (HEAPMARK_ROOT), it plays the kernel after each
step: --usage writes BASE_MB + what it holds into a cgroup usage file,
--available writes a meminfo whose MemAvailable shrinks by what it holds;
--pause gives heapmark's monitor time to read them.  --too-big then asks
for a block that cannot be had and reports the MemoryError.  --watch times
each step and notes whether DIR holds an out-of-memory report when it
returns; --wait-report then waits up to S seconds for one to appear.
"""
import glob
import os
import resource
import sys
import time

from truth import here, write

MB = 1 << 20


def play_kernel(args, held_bytes):
    if "--usage" in args:
        i = args.index("--usage")
        with open(args[i + 1], "w") as f:
            f.write("%d\n" % (int(args[i + 2]) * MB + held_bytes))
    if "--available" in args:
        i = args.index("--available")
        total, avail = int(args[i + 2]) * MB, int(args[i + 3]) * MB - held_bytes
        with open(args[i + 1], "w") as f:
            f.write("MemTotal: %d kB\nMemFree: %d kB\nMemAvailable: %d kB\n"
                    % (total // 1024, avail // 1024, avail // 1024))


def address_space_percent():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return 100.0 * pages * resource.getpagesize() / resource.getrlimit(resource.RLIMIT_AS)[0]


def report_written(directory):
    return bool(glob.glob(os.path.join(directory, "out-of-memory-*", "peak.txt")))


def main(out, step_mb, total_mb, args):
    pause = float(args[args.index("--pause") + 1]) if "--pause" in args else 0
    until_vm = float(args[args.index("--until-vm") + 1]) if "--until-vm" in args else None
    watch = args[args.index("--watch") + 1] if "--watch" in args else None
    held, sizes = [], 0
    line = None
    step_seconds, report_after_step = [], []
    while sizes < total_mb * MB and (until_vm is None or address_space_percent() < until_vm):
        start = time.monotonic()
        held.append(bytearray(step_mb * MB)); line = here()
        step_seconds.append(time.monotonic() - start)
        if watch:
            report_after_step.append(report_written(watch))
        sizes += sys.getsizeof(held[-1])
        play_kernel(args, sizes)
        time.sleep(pause)
    report_waited = None
    if "--wait-report" in args:
        start = time.monotonic()
        limit = float(args[args.index("--wait-report") + 1])
        while not report_written(watch) and time.monotonic() - start < limit:
            time.sleep(0.02)
        report_waited = time.monotonic() - start if report_written(watch) else None
    failed = None
    if "--too-big" in args:
        size = int(args[args.index("--too-big") + 1]) * MB
        failed = here() + 2
        try:
            huge = bytearray(size)     # asks malloc for size + 1 bytes
            del huge
        except MemoryError:
            print("MemoryError raised", flush=True)
    write(out, line=line, step=step_mb * MB, held=sizes, failed=failed,
          vm_percent=address_space_percent() if until_vm else None,
          step_seconds=step_seconds, report_after_step=report_after_step,
          report_waited=report_waited)
    print("held %d MB" % (sizes // MB), flush=True)


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
