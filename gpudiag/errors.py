"""The one exception type core modules raise for failures a user should see.

Core packages never print and never exit. They raise ``GpudiagError`` with a message written for
the user (one line: what is wrong and what to do) and the exit code the CLI should use. The CLI
turns it into that line on stderr.
"""

from __future__ import annotations

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
