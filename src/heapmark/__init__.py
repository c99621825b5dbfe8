"""heapmark: which lines of a Python program held the memory at its peak.

Run a program under it with ``heapmark run script.py`` (or ``python -m
heapmark run ...``); read a stored profile with ``heapmark report``.
Inside a running interpreter, ``with heapmark.track(dir) as t:`` (or
``heapmark.start()`` / ``heapmark.stop()``) profiles a span of the program;
in Jupyter, ``%load_ext heapmark`` then ``%%heapmark`` on a cell.
``heapmark.heap()`` takes a census of the live objects (Heapy's table),
``heapmark.sizeof(obj)`` measures what an object holds; ``heapmark census``
prints the census of what a program leaves alive; ``heapmark.phase(name)``
marks the program's phases on the timeline.
The engine is the C extension ``heapmark._heapmark``; this package is the
thin Python skin around it.
"""

__version__ = "0.1.0"

__all__ = [
    "phase",
    "track",
    "start",
    "stop",
    "Tracker",
    "TrackingError",
    "heap",
    "setref",
    "sizeof",
    "Census",
]


class phase:
    """Marks a phase of the program on heapmark's timeline.

    As a context manager, the phase lasts for the ``with`` block::

        with heapmark.phase("load"):
            data = load()

    As a plain call, ``heapmark.phase("train")`` starts a phase that lasts
    until the next ``heapmark.phase(...)`` call at the same nesting level,
    the end of the enclosing ``with heapmark.phase`` block, or the end of the
    run.  Outside ``heapmark run`` it does nothing.
    """

    __slots__ = ("_id",)

    def __init__(self, name):
        from heapmark import _heapmark

        self._id = _heapmark._phase_begin(str(name))

    def __enter__(self):
        if self._id >= 0:
            from heapmark import _heapmark

            _heapmark._phase_enter(self._id)
        return self

    def __exit__(self, *exc_info):
        if self._id >= 0:
            from heapmark import _heapmark

            _heapmark._phase_end(self._id)
        return False


# heap(), setref(), sizeof(), Census and the tracking functions load the
# engine on first use, so that the command line's start-up does not pay for
# them.
_CENSUS_NAMES = ("heap", "setref", "sizeof", "Census")
_TRACKING_NAMES = ("track", "start", "stop", "Tracker")


def __getattr__(name):
    if name in _CENSUS_NAMES:
        from heapmark import census

        return getattr(census, name)
    if name in _TRACKING_NAMES:
        from heapmark import tracking

        return getattr(tracking, name)
    if name == "TrackingError":
        from heapmark import _heapmark

        return _heapmark.TrackingError
    raise AttributeError("module 'heapmark' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + list(_CENSUS_NAMES + _TRACKING_NAMES) + ["TrackingError"])


def load_ipython_extension(ipython):
    """``%load_ext heapmark``: the %%heapmark cell magic (heapmark.jupyter)."""
    from heapmark import jupyter

    jupyter.load_ipython_extension(ipython)
