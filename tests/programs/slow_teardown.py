"""A program whose interpreter teardown is slow: an object that only the
module holds, whose __del__ runs as the interpreter clears the module, after
heapmark's final profile is written.  It waits there (up to 30 s) for
report.html to appear in the results directory, says on stderr whether it
did, and leaves a 40 MB block allocated at a named line for the reports.

argv: results directory, then what else to do:
  "fork"        a forked child holds 30 MB and exits first; the teardown
                waits 3 s at most (the reports wait for the exit: a run of
                two processes merges their profiles)
  "hold-pipes"  starts `sleep 600` holding a copy of every pipe this process
                has (heapmark's among them), writes its pid to sleeper.pid,
                and dies of SIGKILL, so that no final profile is written
"""

import os
import signal
import sys
import time

results = sys.argv[1]
report_path = os.path.join(results, "report.html")
held = bytearray(40 * 1024 * 1024)  # the block the reports show

wait_s = 30
if sys.argv[2:] == ["fork"]:
    wait_s = 3
    child = os.fork()
    if child == 0:
        in_child = bytearray(30 * 1024 * 1024)  # the child's block
        os._exit(0)
    os.waitpid(child, 0)
if sys.argv[2:] == ["hold-pipes"]:
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + fd).startswith("pipe:"):
                os.set_inheritable(int(fd), True)
        except OSError:  # listdir's own descriptor, gone
            pass
    # Its output elsewhere: the test reads heapmark's to its end.
    quiet = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, quiet, 1), (os.POSIX_SPAWN_DUP2, quiet, 2)]
    sleeper = os.posix_spawn("/bin/sleep", ["sleep", "600"], {}, file_actions=actions)
    with open("sleeper.pid", "w") as f:
        f.write(str(sleeper))
    os.kill(os.getpid(), signal.SIGKILL)


class Late:
    def __del__(
        self,
        report=report_path,
        exists=os.path.exists,
        write=os.write,
        sleep=time.sleep,
        clock=time.monotonic,
        wait_s=wait_s,
    ):
        deadline = clock() + wait_s
        while not exists(report) and clock() < deadline:
            sleep(0.01)
        said = b"seen" if exists(report) else b"not seen"
        write(2, b"slow_teardown: report.html " + said + b" during teardown\n")


late = Late()
print("slow_teardown: main done")
