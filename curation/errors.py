"""Error hierarchy (after dolma's): config errors stop before any data is read (exit 2);
per-record problems are counted with a reason and never raised."""


class CurateError(Exception):
    """Base class for errors curate reports to the user without a traceback."""

    exit_code = 1


class ConfigError(CurateError):
    """A pipeline file is invalid: raised before any data is read. Exit code 2."""

    exit_code = 2


class RunError(CurateError):
    """A run could not finish (a task failed, an output is inconsistent)."""

    exit_code = 1
