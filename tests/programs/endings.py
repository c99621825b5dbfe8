"""Ground truth: hold a known block, then end in a given way.

argv: truth.json how.  The truth file (line, bytes, pid) is written before
the ending, so the test knows what must be in the profile whatever the end.
how: normal | exception | sys.exit | os._exit | exec (becomes a shell that
exits 5) | self-SIGINT | self-SIGTERM | wait (sleep until killed; `go` in the
working directory ends the wait).
"""
import os
import signal
import sys
import time

from truth import here, write

held = bytearray(40_000_000); line = here()
how = sys.argv[2]
write(sys.argv[1], line=line, bytes=sys.getsizeof(held), pid=os.getpid())
print("holding", flush=True)

if how == "exception":
    raise ValueError("the program failed")
elif how == "sys.exit":
    sys.exit(3)
elif how == "os._exit":
    os._exit(4)
elif how == "exec":
    os.execv("/bin/sh", ["sh", "-c", "echo replaced; exit 5"])
elif how == "self-SIGINT":
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)
elif how == "self-SIGTERM":
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
elif how == "wait":
    deadline = time.monotonic() + 60
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.02)
print("ended normally", flush=True)
