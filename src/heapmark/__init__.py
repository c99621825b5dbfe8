"""heapmark: which lines of a Python program held the memory at its peak.

Run a program under it with ``heapmark run script.py`` (or ``python -m
heapmark run ...``); read a stored profile with ``heapmark report``.
``heapmark.heap()`` takes a census of the live objects (Heapy's table),
``heapmark.sizeof(obj)`` measures what an object holds; ``heapmark census``
prints the census of what a program leaves alive.
The engine is the C extension ``heapmark._heapmark``; this package is the
thin Python skin around it.
"""

__version__ = "0.1.0"

# heap(), setref(), sizeof() and Census load the engine on first use, so that
# the command line's start-up does not pay for them.
_CENSUS_NAMES = ("heap", "setref", "sizeof", "Census")


def __getattr__(name):
    if name in _CENSUS_NAMES:
        from heapmark import census
        return getattr(census, name)
    raise AttributeError("module 'heapmark' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + list(_CENSUS_NAMES))
