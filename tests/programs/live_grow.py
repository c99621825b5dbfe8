"""For the live view (heapmark top): holds STEP_MB more at one line each
time a line comes on stdin, says so on stdout, and waits for the next;
"exit" ends it.

argv: STEP_MB
"""
import os
import sys

MB = 1 << 20


def hold(held, step):
    held.append(bytearray(step * MB))  # the live view's line


def main(step):
    held = []
    print("ready %d" % os.getpid(), flush=True)
    for command in sys.stdin:
        if command.strip() == "exit":
            break
        hold(held, step)
        print("held %d MiB" % (len(held) * step), flush=True)
    print("bye", flush=True)


main(int(sys.argv[1]))
