"""Executors: the phases of a run go to datatrove's local, Ray or Slurm executor; chosen here and nowhere else.

What goes in: the phases of ``runner.build_phases`` (each a datatrove pipeline with its own task count and
``logs/<phase>/``) and an ``ExecutorOptions``. What comes out: one datatrove executor per phase.

- ``local``: ``LocalPipelineExecutor``, phases run in order, a fork pool of ``--workers`` processes each.
- ``ray``: ``RayPipelineExecutor`` on an existing cluster (``--ray-address``) or a local one started by the driver;
  phases still run in order from the driver (each waits for the previous one's files). One task = one Ray actor
  reserving ``cpus_per_task`` CPUs and ``cpus_per_task * mem_per_cpu_gb`` GB. The output directory must be on a
  filesystem every node sees. Same tasks, same files, same order as local: byte-identical shards.
- ``slurm``: ``SlurmPipelineExecutor``, one array job per phase, each ``--dependency=afterok`` on the previous
  phase, then a last job (``curate run ... --finalize``) after the last phase that merges stats.json and writes
  manifest.json from the finished tasks. ``submit_slurm`` returns the job ids at once; nothing waits.
- ``finalize``: runs nothing; checks that every task of every phase finished (on any executor) so the runner can
  aggregate stats.json and manifest.json. That is the Slurm pipeline's last job.

Logging: datatrove's task logger prints every task's INFO log to the console; curate owns the console (progress bar
and summary table), so tasks log DEBUG to ``logs/<phase>/logs/task_XXXXX.log`` and only warnings reach the console.
The patch is applied at import time, which also happens in each worker process, Ray actor and Slurm task (they
unpickle classes of this module). datatrove's Ray executor imported the logger functions by name, so its module is
patched too.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datatrove.executor.base as _dt_base
import datatrove.executor.ray as _dt_ray
import datatrove.executor.slurm as _dt_slurm
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.executor.ray import RayPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor
from loguru import logger

from curation import storage
from curation.errors import RunError

EXECUTORS = ("local", "ray", "slurm", "finalize")


_MAIN_PID = os.getpid()  # the curate process; fork-pool workers inherit the value, Ray actors import anew


def _quiet_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    if os.getpid() != _MAIN_PID:
        # a local pool worker: Ctrl-C reaches the whole process group, and each worker would print its own
        # KeyboardInterrupt traceback; the parent alone handles it (the pool then terminates the workers)
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    fmt = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
    # A task that raises: one line on the console (a format function gets no traceback appended; the runner then
    # names the phase and the log), the traceback in the task log, never with local variable values (loguru's
    # diagnose would print them, document text included)
    console_fmt = f"task {rank}: {{level}}: {{message}}\n"
    logger.add(sys.stderr, level="WARNING", format=lambda _: console_fmt, colorize=False, diagnose=False)
    logger.add(logfile, level="DEBUG", format=fmt, colorize=False, diagnose=False, backtrace=False)
    return logfile


def _quiet_close(logfile):
    logger.complete()
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}", colorize=False)
    logfile.close()


for _module in (_dt_base, _dt_ray):
    _module.add_task_logger = _quiet_task_logger
    _module.close_task_logger = _quiet_close
    _module.log_pipeline = lambda pipeline: None


@dataclass(frozen=True)
class ExecutorOptions:
    """How and where the phases run (``curate run --executor ...``).

    Args:
        kind: local | ray | slurm | finalize
        ray_address: Ray cluster address (``ray://host:10001`` or ``host:6379``); None starts a local Ray
        partition: Slurm partition (required for slurm)
        time: Slurm time limit per array task, ``HH:MM:SS`` or ``D-HH:MM:SS``
        cpus_per_task: CPUs reserved per task (Slurm and Ray); a task is one process, so 1 unless memory needs more
        mem_per_cpu_gb: memory per reserved CPU in GB (Slurm ``--mem-per-cpu``, Ray ``memory`` resource)
        qos: Slurm QOS, None for the partition's default
        env_command: shell line that activates the environment in each Slurm job; None: this venv's activate
        finalize_command: the command of Slurm's last job (``curate run PIPELINE -o OUT --finalize``); set by the CLI
        max_array_size: most tasks in one Slurm array (the cluster's MaxArraySize - 1); a phase with more tasks is
            launched as several arrays that run one after another
    """

    kind: str = "local"
    ray_address: str | None = None
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None
    env_command: str | None = None
    finalize_command: str | None = None
    max_array_size: int = 1001
    sbatch_args: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in EXECUTORS:
            raise RunError(f"unknown executor '{self.kind}'; executors: {', '.join(EXECUTORS)}")
        if self.kind == "slurm" and not self.partition:
            raise RunError("--executor slurm needs --partition")
        if self.cpus_per_task < 1 or self.mem_per_cpu_gb < 1:
            raise RunError("--cpus-per-task and --mem-per-cpu-gb must be >= 1")


class CurateLocalExecutor(LocalPipelineExecutor):
    """datatrove's LocalPipelineExecutor with curate's quiet task logging."""


class FinalizeOnly(LocalPipelineExecutor):
    """Runs nothing: fails unless every task of the phase finished, so stats and manifest describe complete phases."""

    def run(self):
        missing = self.get_incomplete_ranks(skip_completed=True)
        if missing:
            raise RunError(f"{len(missing)} of {self.tasks} task(s) not finished (e.g. {missing[:5]}); --finalize "
                           f"aggregates a run whose tasks all finished (Slurm: after the last phase's job)")


def ensure_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Connect to the Ray cluster at ``address``, or start a local one (``num_cpus`` CPUs) when None. Idempotent."""
    try:
        import ray
    except ImportError:
        raise RunError('--executor ray needs Ray: pip install "curate[ray]"') from None
    if ray.is_initialized():
        return
    import logging

    # the dashboard alone costs ~1 s and a port; the driver prints only errors (curate owns the console). Workers'
    # output is not forwarded: forked task processes print absl mutex traces there; task logs (warnings included)
    # are copied to logs/<phase>/logs/, Ray's own to /tmp/ray/session_*/logs.
    kwargs = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    if address is None:
        # a local cluster: a 100 MB object store is plenty (only the executor, ~100 KB, goes through it: documents
        # move through files) and avoids Ray's 30%-of-RAM default on a shared machine
        kwargs.update(num_cpus=num_cpus or os.cpu_count(), object_store_memory=100 * 1024 * 1024)
    ray.init(address=address, **kwargs)


class CurateRayExecutor(RayPipelineExecutor):
    """datatrove's RayPipelineExecutor: connects to (or starts) the cluster on first run; quiet task logging."""

    def __init__(self, *args, ray_address: str | None = None, local_cpus: int | None = None, **kwargs):
        self.ray_address = ray_address
        self.local_cpus = local_cpus
        # input paths are as given (relative to the driver's directory) and go into `source_file` metadata as they
        # are: tasks run from the same directory, as Slurm jobs run from the submit directory
        self.driver_cwd = os.getcwd()
        from loguru import logger as _logger

        # datatrove warns that a local logging_dir must be shared by all nodes: true, and said in --help; on a local
        # cluster (no address) it is shared by construction
        if ray_address is None:
            _logger.disable("datatrove.executor.ray")
        try:
            super().__init__(*args, **kwargs)
        finally:
            _logger.enable("datatrove.executor.ray")

    def run(self):
        ensure_ray(self.ray_address, self.local_cpus)
        super().run()

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        if os.path.isdir(self.driver_cwd):
            os.chdir(self.driver_cwd)
        return super()._run_for_rank(rank, local_rank, node_rank)


class CurateSlurmExecutor(SlurmPipelineExecutor):
    """datatrove's SlurmPipelineExecutor; ``dry_run`` renders the sbatch scripts without creating folders."""

    dry_run: bool = False

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        if not self.dry_run:
            return super().get_sbatch_args(max_array)
        real_makedirs = _dt_slurm.os.makedirs
        _dt_slurm.os.makedirs = lambda *a, **k: None
        try:
            return super().get_sbatch_args(max_array)
        finally:
            _dt_slurm.os.makedirs = real_makedirs

    def task_command(self) -> str:
        """The command each array task runs (what datatrove's launch_job puts in the script)."""
        pik = self.logging_dir.resolve_paths("executor.pik")
        return f"srun -l -n {self.nodes_per_task} launch_pickled_pipeline {pik}"


def _env_command(opts: ExecutorOptions) -> str:
    if opts.env_command:
        return opts.env_command
    if sys.prefix != sys.base_prefix:  # a venv: the cluster nodes see the same path on a shared filesystem
        return f"source {shlex.quote(os.path.join(sys.prefix, 'bin', 'activate'))}"
    return ""


def make_executors(phases: list, output: Path, workers: int, opts: ExecutorOptions | None, name: str = "curate"):
    """One datatrove executor per phase, in order. ``workers``: concurrent tasks (local pool size; Ray and Slurm:
    at most this many tasks at once, -1 for no limit)."""
    opts = opts or ExecutorOptions()
    executors = []
    for p in phases:
        # an object store: a datatrove DataFolder with the configured fsspec options (never pickled into a file
        # by the local and Ray executors; Slurm pickles the executor into logs/: use the AWS_* variables there)
        log_dir = storage.datafolder(str(output / "logs" / p.name))
        if opts.kind == "local":
            # fork, not datatrove's default forkserver: each phase's worker pool starts without re-importing
            # datatrove, pyarrow and the stages (sample crawl, 7 phases: 11.4 s -> 7.8 s wall on 2 cores, identical
            # shards). The parent's only other thread is the progress bar, which takes no lock a worker needs.
            ex = CurateLocalExecutor(p.steps, tasks=p.tasks, workers=max(1, min(workers, p.tasks)),
                                     logging_dir=log_dir, skip_completed=True, start_method="fork")
        elif opts.kind == "finalize":
            ex = FinalizeOnly(p.steps, tasks=p.tasks, workers=1, logging_dir=log_dir, skip_completed=True)
        elif opts.kind == "ray":
            ex = CurateRayExecutor(p.steps, tasks=p.tasks, workers=workers if workers > 0 else -1,
                                   logging_dir=log_dir, skip_completed=True, cpus_per_task=opts.cpus_per_task,
                                   mem_per_cpu_gb=opts.mem_per_cpu_gb, ray_address=opts.ray_address,
                                   local_cpus=workers if workers > 0 else None)
        else:
            ex = CurateSlurmExecutor(
                p.steps, tasks=p.tasks, time=opts.time, partition=opts.partition, cpus_per_task=opts.cpus_per_task,
                mem_per_cpu_gb=opts.mem_per_cpu_gb, workers=workers if workers > 0 else -1,
                job_name=f"{name}.{p.name}", qos=opts.qos or "", env_command=_env_command(opts),
                sbatch_args=dict(opts.sbatch_args), depends=executors[-1] if executors else None,
                logging_dir=log_dir, skip_completed=True, slurm_logs_folder=str(output / "logs" / p.name / "slurm"),
                max_array_size=opts.max_array_size,
            )
        executors.append(ex)
    return executors


def _finalize_script(last: CurateSlurmExecutor, opts: ExecutorOptions, output: Path) -> tuple[str, dict]:
    args = {k: v for k, v in last.get_sbatch_args().items() if k not in ("array", "requeue")}
    logfile = str(output / "logs" / "finalize_%j.out")
    # one CPU: it merges the per-task stats and sha256-hashes every input file and output shard (1.9 GB/s per core
    # measured here), so it keeps the phases' --time: hashing 10 TB alone takes ~1.5 h
    args.update({"cpus-per-task": 1, "mem-per-cpu": f"{max(opts.mem_per_cpu_gb, 4)}G",
                 "job-name": last.job_name.rsplit(".", 1)[0] + ".finalize", "output": logfile, "error": logfile})
    # run from the submit directory: relative paths in the manifest are relative to it, as for a local run
    return last.get_launch_file_contents(args, f"cd {shlex.quote(os.getcwd())} && {opts.finalize_command}"), args


def slurm_scripts(executors: list, opts: ExecutorOptions, output: Path) -> list[dict]:
    """The sbatch scripts a Slurm submission would launch, in order, without launching or writing anything:
    ``[{"job", "depends_on", "tasks", "arrays", "script"}]``. Each job waits for the previous one (``afterok``); a
    phase with more than ``max_array_size`` tasks is several arrays of this script, each after the previous
    (``afterany``)."""
    jobs = []
    for ex in executors:
        ex.dry_run = True
        n = len(ex.get_incomplete_ranks()) if os.path.isdir(ex.logging_dir.path) else ex.tasks
        array = min(n, ex.max_array_size) if ex.max_array_size != -1 else n
        script = ex.get_launch_file_contents(ex.get_sbatch_args(max(array, 1)), ex.task_command())
        arrays = -(-n // array) if array else 1  # datatrove launches them one after another (afterany)
        jobs.append({"job": ex.job_name, "depends_on": jobs[-1]["job"] if jobs else None, "tasks": n,
                     "arrays": arrays, "script": script})
    last = executors[-1]
    script, _ = _finalize_script(last, opts, output)
    jobs.append({"job": last.job_name.rsplit(".", 1)[0] + ".finalize", "depends_on": last.job_name, "tasks": 1,
                 "arrays": 0, "script": script})
    for ex in executors:
        ex.dry_run = False
    return jobs


def submit_slurm(executors: list, opts: ExecutorOptions, output: Path) -> dict[str, str]:
    """Launch every phase as a Slurm array job chained by ``afterok``, then the finalize job after the last one.
    Returns {job name: job id} ("-1": every task of that phase had finished already, nothing launched)."""
    if not opts.finalize_command:
        raise RunError("internal: Slurm submission without a finalize command")
    jobs: dict[str, str] = {}
    for ex in executors:
        ex.launch_job()  # launches its dependency first if needed; afterok on the previous phase's last array job
        jobs[ex.job_name] = str(ex.job_id)
    last = executors[-1]
    script, _ = _finalize_script(last, opts, output)
    dep = [f"--dependency=afterok:{last.job_id}"] if str(last.job_id) != "-1" else []
    storage.write_text(str(output / "logs" / "finalize.slurm"), script)
    jobs[last.job_name.rsplit(".", 1)[0] + ".finalize"] = str(
        _dt_slurm.launch_slurm_job(script, last.job_id_retriever, *dep))
    return jobs
