"""The one exception type core modules raise for failures a user should see.

Core packages never print and never exit. They raise ``GpudiagError`` with a message written for
the user (one line: what is wrong and what to do) and the exit code the CLI should use. The CLI
turns it into that line on stderr.
"""

from __future__ import annotations

import signal

# Exit codes, documented in the README and man pages.
EXIT_OK = 0
EXIT_NO = 1  # the answer is "no": doesn't fit, nothing recognised, every mode failed
EXIT_USAGE = 2  # usage, bad input, or an environment that cannot answer


class GpudiagError(Exception):
    """A failure with a user-facing message and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class DeviceUnavailable(GpudiagError):
    """No live GPU can be probed here (no driver, no visible device, bad index)."""


class NoDeviceVisible(DeviceUnavailable):
    """No GPU is visible here; carries what the driver libraries said, for a report without a device."""

    def __init__(self, message: str, nvml: str, cuda_driver: str, software=None) -> None:
        super().__init__(message)
        self.nvml = nvml  # what NVML said: "not loadable: ..." or "sees 1 GPU"
        self.cuda_driver = cuda_driver  # what libcuda said
        self.software = software  # the SoftwareStack, still knowable without a GPU


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP raised as an exception, the way Python raises SIGINT as ``KeyboardInterrupt``.

    A command that turns a stop signal into an exception (to end its child processes and keep what
    finished) exits as the shell reports a process the signal killed: 128 + its number (143 for
    SIGTERM, 129 for SIGHUP), the same status a command that leaves the signal alone gets.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def stop_signal(exc: BaseException) -> int:
    """The signal an interrupt stands for: its own for ``Stopped``, SIGINT for a plain KeyboardInterrupt."""
    return getattr(exc, "signum", int(signal.SIGINT))


def stop_status(exc: BaseException) -> int:
    """The exit status for an interrupt: 128 + the signal (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + stop_signal(exc)
