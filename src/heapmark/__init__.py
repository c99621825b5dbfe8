"""heapmark: which lines of a Python program held the memory at its peak.

Run a program under it with ``heapmark run script.py`` (or ``python -m
heapmark run ...``); read a stored profile with ``heapmark report``.
The engine is the C extension ``heapmark._heapmark``; this package is the
thin Python skin around it.
"""

__version__ = "0.1.0"
