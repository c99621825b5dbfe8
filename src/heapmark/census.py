"""Heap census: which objects exist, by kind, like Heapy's ``hpy().heap()``.

The walk, the classification, the sizes and the text all come from the C
engine (``heapmark._heapmark``, csrc/census/); this module only names
things.  See docs/census.md for what is counted and how.
"""

from heapmark import _heapmark

__all__ = ["Census", "heap", "setref", "sizeof"]


class Census(_heapmark.CensusBase):
    """A census: printing it gives Heapy's table.

    ``count`` and ``size`` are the totals; ``len(census)`` the number of
    rows; ``census[i]`` the objects of row i as a census of their own;
    ``.bytype``, ``.bymodule`` regroup the same objects; ``.more`` shows the
    next rows; ``.diff(other)`` prints what changed; ``.to_json()``.
    """

    __slots__ = ()

    @property
    def bytype(self):
        """The same objects by type (every dict in one row)."""
        return self._bytype()

    @property
    def bymodule(self):
        """The same objects by the module that defines their kind."""
        return self._bymodule()

    @property
    def more(self):
        """The rows after those the table shows."""
        return self._more()

    def __getitem__(self, index):
        return self._row(index)

    def __iter__(self):
        return (self._row(i) for i in range(len(self)))

    def diff(self, other):
        """Heapy's difference table of self (A) against other (B), as text."""
        return _Text(self._diff(other))

    def table(self, top=10):
        """The table with top rows (0: all of them) instead of ten."""
        return _Text(self._table(int(top)))

    def rows(self):
        """[(count, size, kind, type, module)] by descending size."""
        return self._rows()

    def objects(self):
        """The objects themselves, as a list."""
        return self._objects()

    def to_json(self):
        """The table as JSON text (schema in docs/census.md)."""
        return self._json()

    def stats(self):
        """How the walk went: objects visited and the visited set's bytes."""
        return self._stats()


class _Text(str):
    """Text that prints as itself in the interactive shell, as Heapy's does."""

    __slots__ = ()

    def __repr__(self):
        return str(self)


def heap(hide=None):
    """The census of every live Python object (see docs/census.md)."""
    return _heapmark._heap(Census, tuple(hide) if hide is not None else None)


def setref(clear=False):
    """From now on heap() counts only objects created after this call
    (Heapy's setrelheap); setref(clear=True) forgets the reference point.
    Returns the number of objects remembered (0 when clearing)."""
    return _heapmark._setref(bool(clear)) or 0


DEFAULT_IGNORE = None


def _default_ignore():
    import types

    return (
        type,
        types.ModuleType,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        types.CodeType,
        types.FrameType,
    )


def sizeof(obj, deep=True, ignore=DEFAULT_IGNORE, limit=None):
    """Bytes reachable from obj, each object counted once.

    deep=False gives sys.getsizeof(obj).  With deep=True, objects of the
    types in ``ignore`` are neither counted nor walked (obj itself always
    is); by default classes, modules, functions, methods, code and frames,
    which are shared program structure rather than data; ``ignore=()``
    walks everything.  ``limit`` stops the walk that many references away
    from obj (None: no limit).
    """
    if ignore is DEFAULT_IGNORE:
        ignore = _default_ignore()
    ignore = tuple(ignore) if ignore else None
    return _heapmark._sizeof(obj, bool(deep), ignore, -1 if limit is None else int(limit))
