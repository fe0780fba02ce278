"""Executors: curate runs on datatrove's executors (local now; Ray and Slurm plug in here).

datatrove's task logger prints every task's INFO log to the console; curate owns the console (progress bar and
summary table), so tasks log DEBUG to ``logs/logs/task_XXXXX.log`` and only warnings reach the console.
The patch is applied at import time, which also happens in each worker process (they unpickle this class).
"""

from __future__ import annotations

import sys

import datatrove.executor.base as _dt_base
from datatrove.executor.local import LocalPipelineExecutor
from loguru import logger


def _quiet_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    fmt = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
    logger.add(sys.stderr, level="WARNING", format=f"task {rank}: {{level}}: {{message}}", colorize=False)
    logger.add(logfile, level="DEBUG", format=fmt, colorize=False)
    return logfile


def _quiet_close(logfile):
    logger.complete()
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}", colorize=False)
    logfile.close()


_dt_base.add_task_logger = _quiet_task_logger
_dt_base.close_task_logger = _quiet_close
_dt_base.log_pipeline = lambda pipeline: None


class CurateLocalExecutor(LocalPipelineExecutor):
    """datatrove's LocalPipelineExecutor with curate's quiet task logging."""
