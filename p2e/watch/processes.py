"""Whether a process still runs on this machine (POSIX and Windows): a dead holder's lock is free at once.

>>> import os
>>> process_exists(os.getpid())
True
"""
from __future__ import annotations

import os
import sys


def process_exists(pid: int) -> bool:
    """Whether a process with this id runs on this machine (when unsure: yes, and the heartbeat decides)."""
    if sys.platform == "win32":
        return _windows_process_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_process_exists(pid: int) -> bool:
    if sys.platform != "win32":  # only called on Windows; this line tells the type checker so
        return True
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists, under another account
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:
        return True
