"""What the installed torch and triton say: versions, source files, inductor's own gates, read without
importing them where possible (``torch_view`` is the one module that imports torch)."""
