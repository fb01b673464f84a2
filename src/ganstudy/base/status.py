"""What state a run is in: one word each, shared by every wing that writes or reads a run
(the trainer's status.json and result.json, the index, tasks' outcomes, reports, trackers).

A ``str`` enum: its members equal the words stored in JSON and SQLite, so what was written
before the enum reads back as the same state."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    PENDING = "pending"  # planned, not started (or reset for a retry)
    RUNNING = "running"  # training now, or killed while training (its checkpoint resumes it)
    COMPLETE = "complete"  # trained to the end and scored
    DIVERGED = "diverged"  # a loss or a weight became non-finite: an ended run, counted as a failure
    FAILED = "failed"  # an error stopped it (its traceback is in error.txt); retried up to MAX_ATTEMPTS
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C or with its study, a checkpoint saved
    BUSY = "busy"  # a task's outcome when another process holds the run's lock: not trained here

    __str__ = str.__str__  # "complete", not "Status.COMPLETE", in messages and f-strings
    __format__ = str.__format__


#: The states of a run that has ended (it has a result.json and is not trained again).
ENDED = (Status.COMPLETE, Status.DIVERGED)
