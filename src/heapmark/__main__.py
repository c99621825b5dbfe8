"""``python -m heapmark`` is the ``heapmark`` command."""

import sys

from heapmark.cli import main

sys.exit(main())
