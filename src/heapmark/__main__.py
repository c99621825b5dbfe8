"""``python -m heapmark`` is the ``heapmark`` command."""

from heapmark.cli import exit_now, main

exit_now(main())
