"""Ground truth: a Python thread, a native pthread, and a GIL-released malloc."""
import sys
import threading

import hmnative as n
from truth import here, write

MB = 1 << 20
kept = []
lines = {}


def worker():
    kept.append(bytearray(30 * MB)); lines["python_thread"] = here()


def main(out):
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    native = n.alloc_in_native_thread(25 * MB); native_line = here()
    nogil = n.alloc_nogil(20 * MB); nogil_line = here()
    peak = {lines["python_thread"]: sys.getsizeof(kept[0]),
            native_line: n.usable(native), nogil_line: n.usable(nogil)}
    write(out, peak=peak, lines={"python_thread": lines["python_thread"],
                                 "native_thread": native_line, "nogil": nogil_line})


main(sys.argv[1])
