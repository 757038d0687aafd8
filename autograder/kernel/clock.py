"""The kernel's CPU clock and CPU timer, as they were when the check library was first imported.

The notebooks import :mod:`autograder.kernel` in their first, locked cell, before any answer cell runs, so a
student's cell that replaces ``time.process_time`` or ``signal.setitimer`` (to make a slow training look fast,
or to keep it from being interrupted) does not change what the probes measure with these.
"""

from __future__ import annotations

import signal
import time

process_time = time.process_time
set_handler = signal.signal
setitimer = getattr(signal, "setitimer", None)  # POSIX only
