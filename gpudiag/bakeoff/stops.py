"""While a bake-off runs, SIGTERM and SIGHUP stop it as Ctrl-C does, and a signal ignored at start stays so.

``timeout``, Slurm and CI cancellation send SIGTERM; a closed terminal sends SIGHUP. Each raises
``gpudiag.errors.Stopped`` in the main thread (Ctrl-C already raises KeyboardInterrupt), so the harness
ends every child, removes its folder, keeps what finished and exits 128 + the signal. A signal that was
ignored when the run started stays ignored: ``nohup gpudiag bakeoff ...`` ignores SIGHUP, and the run
must survive the ssh logout it was started for.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from gpudiag.errors import Stopped

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """While a run lasts, SIGTERM and SIGHUP raise ``Stopped`` in the main thread (Ctrl-C already raises
    KeyboardInterrupt), except a signal that was ignored on entry (``nohup``), which stays ignored;
    during the clean-up after a stop, further signals are held off. ``restore`` puts back whatever
    handlers were there before."""

    WATCHED = (*STOP_SIGNALS, signal.SIGINT)

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.previous = {sig: signal.getsignal(sig) for sig in self.WATCHED} if self.active else {}
        if self.active:
            for sig in STOP_SIGNALS:
                if self.previous[sig] != signal.SIG_IGN:
                    signal.signal(sig, self._stop)

    @staticmethod
    def _stop(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    def hold(self) -> None:
        for sig in self.previous:
            signal.signal(sig, signal.SIG_IGN)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
