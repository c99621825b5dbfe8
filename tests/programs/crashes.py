"""Builds memory whose lines are known, then dies of a fatal signal in C
code: argv[1] the kind (segv, bus, ill, fpe, abrt), argv[2] "thread" for a
native thread, "main" for the main thread; argv[3] seconds to wait before
(default 0); "faulthandler" anywhere enables it first."""
import sys
import time

import hmcrash

if "faulthandler" in sys.argv:
    import faulthandler

    faulthandler.enable()
held = [bytearray(1 << 20) for _ in range(24)]  # 24 MiB held at the crash
freed = bytearray(40 << 20)  # 40 MiB, gone before the crash
del freed
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)
hmcrash.crash(sys.argv[1], sys.argv[2] == "thread")
