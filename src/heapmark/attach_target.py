"""What ``heapmark attach`` runs inside the process it attached to.

The attaching command injects a small bootstrap (heapmark.cli.attach,
BOOTSTRAP) that finds heapmark in the process, or loads it from the
attaching installation, and calls one of these functions in the process's
main thread, with the GIL held, at a point where any Python code may run.
Each returns a dict that the bootstrap writes as JSON for the attaching
command: {"ok": True, ...} or {"error": kind, "message": one line}.

Nothing here writes to the process's stdout or stderr, and nothing stays
behind but heapmark's modules and, after a stop, its parked monitor thread
(docs/in-process.md).
"""

import os
import platform
import sys


def _about():
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "pid": os.getpid(),
    }


def start(params):
    """Starts tracking into params["directory"] (profile.db only: the
    attaching command renders the reports, not the process)."""
    from heapmark import _heapmark, tracking

    if _heapmark._track_state()["preloaded"]:
        return {
            "error": "profiled",
            "message": "process %d runs under heapmark run already, which profiles all "
            "of it: its results come when it ends (or kill -USR2 %d for a snapshot)"
            % (os.getpid(), os.getpid()),
        }
    try:
        tracker = tracking.start(
            params["directory"],
            exact=params["exact"],
            sample_rate=params["rate"],
            seed=params["seed"],
            reports=False,
        )
    except _heapmark.TrackingError as exc:
        return {"error": "tracking", "message": "process %d: %s" % (os.getpid(), exc)}
    # What a later track() in the program, or a second attach, is told.
    tracker.started_at = "heapmark attach (process %d)" % params["attacher"]
    tracker.attached_by = params["attacher"]
    result = {"ok": True, "profile": tracker._pending_profile, "rate": tracker.sample_rate}
    result.update(_about())
    return result


def stop(params):
    """Stops the tracking an attach started; the profile is written here,
    in the process (the engine holds the tables)."""
    from heapmark import tracking

    tracker = tracking.active()
    if tracker is None:
        return {
            "error": "not-tracking",
            "message": "process %d is not being tracked any more (heapmark.stop() "
            "was called in it?)" % os.getpid(),
        }
    if getattr(tracker, "attached_by", None) is None:
        return {
            "error": "not-attached",
            "message": "process %d is tracked by its own heapmark.track() (started at "
            "%s), not by heapmark attach: left running" % (os.getpid(), tracker.started_at),
        }
    tracker._stop()
    result = {"ok": True, "profile": tracker.profile}
    for name in ("peak_bytes", "end_bytes", "duration_s"):
        result[name] = getattr(tracker, name)
    return result


def census(params):
    """The census of every live object, as the table (params["top"] rows)
    and as JSON."""
    from heapmark import census as heap_census

    result = heap_census.heap()
    return {"ok": True, "table": result.table(params["top"]), "json": result.to_json()}
