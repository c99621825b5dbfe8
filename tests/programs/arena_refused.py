"""Ground truth for tests/test_fast_path.py: pymalloc refused new arenas.

Under an address-space limit (RLIMIT_AS) a little above what the process
maps, the program makes small lists until MemoryError: once mapping an arena
fails, pymalloc serves small requests from malloc instead, and those objects
are not in any arena.  Then the limit goes, everything is freed, and the
program keeps a known population to its end.  argv[1]: 'limit' or 'free'
(no limit, the same program otherwise).  Writes JSON to argv[2]: how many
lists were made and the kept population's bytes."""

import gc
import json
import resource
import sys


def address_space():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmSize")


made = []
if sys.argv[1] == "limit":
    resource.setrlimit(resource.RLIMIT_AS, (address_space() + (24 << 20), resource.RLIM_INFINITY))
    try:
        while True:
            made.append([None] * 3)  # an 80-byte list: a pool block while arenas come
    except MemoryError:
        pass
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
count = len(made)
del made
gc.collect()
kept = [[i] for i in range(20000)]  # kept to the end
kept_bytes = sum((sys.getsizeof(k) + 15) & ~15 for k in kept)
with open(sys.argv[2], "w") as f:
    json.dump({"made": count, "kept_bytes": kept_bytes}, f)
