"""heapmark's start-up hook inside the profiled interpreter.

``heapmark run`` puts this directory first on PYTHONPATH, so ``site`` imports
this module before the program starts.  It gives the program back the
environment it would have had (PYTHONPATH, sys.path, the sitecustomize it
would have imported), tells the C engine the interpreter is up, and arranges
for the profile to be written at exit.  The allocation hooks themselves were
installed earlier, by the preloaded engine, before the interpreter started.
"""


def _heapmark_boot():
    import atexit
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    ourselves = sys.modules.get(__name__)

    from heapmark import _heapmark

    pythonpath = _heapmark._boot()
    if pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = pythonpath
    sys.path[:] = [p for p in sys.path if not p or os.path.abspath(p) != here]
    # Registered first, so it runs last: after the program's own exit hooks.
    atexit.register(_heapmark._finish)
    # A forked child is profiled on its own; its monitor thread restarts here.
    os.register_at_fork(after_in_child=_heapmark._after_fork)
    # The collector's runs, for the timeline.
    import gc

    gc.callbacks.append(_heapmark._gc_callback)

    # The program's own sitecustomize, if it has one, runs as it would have.
    del sys.modules[__name__]
    try:
        import sitecustomize  # noqa: F401
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
        sys.modules[__name__] = ourselves


_heapmark_boot()
del _heapmark_boot
