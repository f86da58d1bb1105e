"""check-tiles: will tile configs fit a GPU's shared memory (parse, estimate, CUTLASS model, exact compile, waves)."""
