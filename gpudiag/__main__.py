"""The `gpudiag` command and `python -m gpudiag`.

A live report starts NVML and the CUDA driver here, before the command-line app (typer, rich and
the subcommand) is imported, so their start overlaps those imports (gpudiag/cli/early.py).
"""

import sys


def main() -> None:
    from gpudiag.cli.early import start_driver_for

    start_driver_for(sys.argv[1:])
    from gpudiag.cli.app import main as run_app

    run_app()


if __name__ == "__main__":
    main()
