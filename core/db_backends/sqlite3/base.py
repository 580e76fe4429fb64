"""SQLite with write transactions queued on a file lock.

With IMMEDIATE transactions a second writer waits in SQLite's busy handler, which sleeps
1, 2, 5, 10, 15, 20, 25 ... ms between tries: under load, workers spend a third to half of
their time asleep while the lock is already free. Taking an flock() on `<db>.write-lock`
before BEGIN IMMEDIATE makes waiting writers wake the moment the holder commits.
"""

import fcntl

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock_file = None
    _write_locked = False

    def _lock_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            return None
        return f"{name}.write-lock"

    def _lock_writes(self) -> None:
        path = self._lock_path()
        if path is None:
            return
        if self._write_lock_file is None:
            self._write_lock_file = open(path, "a+b")  # noqa: SIM115 (kept open: flock needs it)
        fcntl.flock(self._write_lock_file, fcntl.LOCK_EX)
        self._write_locked = True

    def _unlock_writes(self) -> None:
        if self._write_locked:
            self._write_locked = False
            fcntl.flock(self._write_lock_file, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self):
        self._lock_writes()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._unlock_writes()
            raise

    def _commit(self):
        try:
            super()._commit()
        finally:
            self._unlock_writes()

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            self._unlock_writes()

    def _close(self):
        try:
            super()._close()
        finally:
            self._unlock_writes()
            if self._write_lock_file is not None:
                self._write_lock_file.close()
                self._write_lock_file = None
