"""heapmark: which lines of a Python program held the memory at its peak.

Run a program under it with ``heapmark run script.py`` (or ``python -m
heapmark run ...``); read a stored profile with ``heapmark report``.
The engine is the C extension ``heapmark._heapmark``; this package is the
thin Python skin around it.
"""

__version__ = "0.1.0"

__all__ = ["phase"]


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
