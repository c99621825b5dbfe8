"""A parent whose multiprocessing child (argv[1]: fork or spawn) builds
memory and dies of SIGSEGV in C code; the parent goes on and ends normally,
printing the child's exit code."""

import multiprocessing
import sys

import hmcrash


def child():
    held = [bytearray(1 << 20) for _ in range(16)]  # the child's 16 MiB
    hmcrash.crash("segv", False)
    return held


if __name__ == "__main__":
    process = multiprocessing.get_context(sys.argv[1]).Process(target=child)
    process.start()
    process.join()
    kept = bytearray(8 << 20)  # the parent's 8 MiB
    print("child exit code", process.exitcode)
