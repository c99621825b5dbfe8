"""Directory that ``heapmark run`` puts first on the profiled program's
PYTHONPATH so that its ``sitecustomize`` runs at interpreter start-up."""
