"""``gpudiag info`` as data."""
