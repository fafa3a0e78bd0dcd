"""Settings chosen from the machine: torch threads, loader workers, batch sizes, precision, DDP.

One place reads the machine's facts (:func:`machine_facts`: CPU cores, host memory, CUDA devices and
their memory) and turns them into settings (:func:`choose_settings`). Prediction, representations,
finetuning runs, the ``zoobot`` command and the app all take their defaults from here; each setting
can be given explicitly instead (an argument, a flag, a run config key), and a run records the
settings it used in its ``config.yaml`` (``machine``).

The rules, and why:

- **CPU only.** The encoder gets every core (``torch_threads`` = cores): the speed ceiling is the
  encoder on the whole machine. For one pass over a catalog (prediction, representations, feature
  caching) ``decode_threads`` threads of the main process (one per core) decode the next batch while
  the encoder computes the current one (:class:`zoobot.inference.ThreadedBatches`): no worker process
  to start and no batch to copy between processes (figures: benchmarks/README.md, "Decoding while the
  encoder computes"). Training reads its shuffled epochs with
  ``max(1, cores // 4)`` loader worker processes that sleep once their prefetch queue is full, so
  decoding takes a core only while it decodes.
  Workers can run at a lower priority (``worker_nice``, e.g. :data:`WORKER_NICE`) but do not by
  default: on a 2-core machine shared with other jobs (load average 8-10) a worker at nice +10 was
  starved and prediction fell to a fraction of its speed. Precision is 32-bit (16-bit on a CPU is slower).
  On a machine busy with other work, fewer threads than cores can be much faster (on 2 cores at load
  average 8, ``test_convnext`` predicted 2,560 img/s with 1 thread and 120 img/s with 2): give
  ``torch_threads`` (``--threads``) there.
- **CUDA.** bf16 mixed precision where the GPU has it (Ampere and later), else fp16 mixed;
  channels_last memory; pinned host memory; enough workers to keep the GPU fed (up to 8 per GPU,
  leaving one core per GPU to its training process); batch sizes that grow with the GPU's memory.
  ``torch.compile`` is offered (``compile``) but off by default: it takes minutes to warm up.
- **Several GPUs** train and predict with Lightning's DDP strategy, one process per GPU.

The rules are plain functions of :class:`MachineFacts`, so they are tested on any machine by giving
facts (e.g. ``MachineFacts(cpu_cores=32, memory_gib=256, gpu_memory_gib=(80.0,) * 4, gpu_bf16=True)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MachineFacts",
    "MachineSettings",
    "machine_facts",
    "choose_settings",
    "machine_settings",
    "lower_priority",
    "cache_cuda_check",
]

Precision = Literal["32-true", "16-mixed", "bf16-mixed"]
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed")
WORKER_NICE = 10
"""``worker_nice`` to ask for to run loader workers below the encoder (not the default: see the module docstring)."""
MAX_WORKERS_PER_GPU = 8
# Training batch by GPU memory (GiB at least -> batch), for a ConvNeXt-nano-sized encoder at 224 px.
_GPU_BATCH = ((0.0, 32), (16.0, 64), (40.0, 128), (80.0, 256))


@dataclass(frozen=True)
class MachineFacts:
    """What the machine offers.

    Attributes:
        cpu_cores: cores this process may run on.
        memory_gib: host memory in GiB.
        gpu_memory_gib: memory of each CUDA device in GiB (empty: no GPU).
        gpu_bf16: whether the GPUs compute in bfloat16 (Ampere and later).
    """

    cpu_cores: int
    memory_gib: float
    gpu_memory_gib: tuple[float, ...] = ()
    gpu_bf16: bool = False

    @property
    def gpus(self) -> int:
        """How many CUDA devices."""
        return len(self.gpu_memory_gib)


@dataclass(frozen=True)
class MachineSettings:
    """Settings for prediction and training on one machine (see the module docstring for the rules).

    Attributes:
        accelerator: ``'cpu'`` or ``'gpu'``.
        devices: GPUs (or 1 on a CPU) a run uses.
        strategy: Lightning strategy: ``'ddp'`` with several devices, else ``'auto'``.
        torch_threads: threads torch computes with on the CPU.
        num_workers: data-loading worker processes (per device).
        decode_threads: on a CPU, threads of the main process that decode the next batch while the
            encoder computes, in place of worker processes, when prediction, representations and
            feature caching read a catalog once (0: worker processes, ``num_workers`` of them).
        worker_nice: scheduling priority increment of the workers (0: same as the encoder).
        batch_size: galaxies per training step.
        predict_batch_size: galaxies per batch when predicting (no gradients: larger).
        pin_memory: page-locked host memory for batches, so copies to the GPU overlap compute.
        persistent_workers: keep workers alive between epochs.
        precision: Lightning precision string.
        channels_last: NHWC memory layout (faster convolutions on tensor cores).
        compile: wrap the encoder in ``torch.compile``.
    """

    accelerator: Literal["cpu", "gpu"]
    devices: int
    strategy: str
    torch_threads: int
    num_workers: int
    decode_threads: int
    worker_nice: int
    batch_size: int
    predict_batch_size: int
    pin_memory: bool
    persistent_workers: bool
    precision: Precision
    channels_last: bool
    compile: bool

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what a run writes into its config)."""
        return dataclasses.asdict(self)

    def apply_threads(self) -> None:
        """Have torch compute with ``torch_threads`` threads (process-wide)."""
        import torch

        if torch.get_num_threads() != self.torch_threads:
            torch.set_num_threads(self.torch_threads)

    def workers_for(self, n_rows: int, batch_size: int) -> int:
        """Loader workers for ``n_rows`` images: none when they fit in two batches (a worker's start-up
        would cost more than the decoding it overlaps), else ``num_workers``."""
        return self.num_workers if n_rows > 2 * batch_size else 0

    def inference_decoding(self, n_rows: int, batch_size: int, num_workers: int | None = None) -> tuple[int, int]:
        """``(worker processes, decoding threads)`` for one in-order pass over ``n_rows`` images.

        ``num_workers`` given (an expert's choice) means worker processes, as many as that (0: decode in
        the main process, one image at a time). Otherwise ``decode_threads`` threads where the machine
        uses them (a CPU), else :meth:`workers_for`'s processes.
        """
        if num_workers is not None:
            return num_workers, 0
        if self.decode_threads > 1:
            return 0, self.decode_threads
        return self.workers_for(n_rows, batch_size), 0

    def worker_init_fn(self) -> Any:
        """A DataLoader ``worker_init_fn`` that lowers each worker's priority, or None when it is not lowered."""
        return functools.partial(lower_priority, self.worker_nice) if self.worker_nice > 0 else None


def lower_priority(increment: int, worker_id: int = 0) -> None:
    """Run this process ``increment`` nice levels lower (a DataLoader ``worker_init_fn``); never fails."""
    # Windows has no nice; a refused change leaves the priority as it was.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(increment)


_NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def cache_cuda_check() -> bool:
    """Where there is no NVIDIA driver, let ``torch.cuda.is_available()`` answer from PyTorch's cached count.

    Importing Lightning sets ``PYTORCH_NVML_BASED_CUDA_CHECK=1``, so that asking whether CUDA is there
    does not initialise CUDA (a process that has cannot fork loader workers that use it). With it set
    each call tries to load the NVML library again (about 35 µs on a 2-core VM without one), and
    PyTorch's AdamW asks at every step: 60-70 µs of a head-only step on cached features that takes
    about 1 ms in all. Where NVML cannot be loaded there is no driver, so no CUDA for a fork to break:
    the variable is set back to ``"0"`` and the answer comes from the CUDA runtime's count, kept after
    its first call. A machine with the driver keeps the NVML check (even with every GPU hidden by
    ``CUDA_VISIBLE_DEVICES``), as does a variable set otherwise. Called when fitting starts; acts once
    a process, and child processes inherit the variable.

    Returns:
        Whether the check now uses the cached count.
    """
    global _cuda_check_cached
    if not _cuda_check_cached and os.environ.get(_NVML_CHECK) == "1" and not _nvml_loads():
        import torch

        if not torch.cuda.is_available():
            os.environ[_NVML_CHECK] = "0"
            _cuda_check_cached = True
    return _cuda_check_cached


def _nvml_loads() -> bool:
    """Whether the NVIDIA driver's NVML library loads here (the library PyTorch's NVML check opens)."""
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


_cuda_check_cached = False


def machine_facts() -> MachineFacts:
    """This machine's facts: cores available to this process, host memory, CUDA devices. Imports torch."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (AttributeError, ValueError, OSError):  # not POSIX
        memory = 0.0
    gpus: tuple[float, ...] = ()
    bf16 = False
    if torch.cuda.is_available():
        gpus = tuple(torch.cuda.get_device_properties(i).total_memory / 2**30 for i in range(torch.cuda.device_count()))
        bf16 = bool(torch.cuda.is_bf16_supported())
    return MachineFacts(cpu_cores=max(1, cores), memory_gib=round(memory, 1), gpu_memory_gib=gpus, gpu_bf16=bf16)


def _gpu_batch(memory_gib: float) -> int:
    return max(batch for least, batch in _GPU_BATCH if memory_gib >= least)


def choose_settings(
    facts: MachineFacts,
    accelerator: str = "auto",
    devices: int | str = "auto",
    torch_threads: int | None = None,
    num_workers: int | None = None,
    batch_size: int | None = None,
    predict_batch_size: int | None = None,
    precision: str | None = None,
    compile: bool = False,
    worker_nice: int = 0,
    decode_threads: int | None = None,
) -> MachineSettings:
    """The settings for ``facts``; any argument given (not None) wins over the machine's choice.

    Args:
        facts: the machine (:func:`machine_facts`, or made up in a test).
        accelerator: ``'auto'`` (a GPU when there is one), ``'cpu'``, ``'gpu'`` / ``'cuda'``.
        devices: ``'auto'`` (every GPU, or 1 on a CPU) or a count.
        torch_threads, num_workers, batch_size, predict_batch_size, precision: expert overrides.
        compile: wrap the encoder in ``torch.compile`` (GPU; minutes of warm-up).
        worker_nice: run loader workers this many nice levels below the encoder (CPU; 0: as the encoder).
        decode_threads: threads that decode images for a single pass on a CPU in place of worker
            processes (0: worker processes); default: every core on a CPU, 0 on a GPU.

    Raises:
        ValueError: a GPU asked for where there is none, or a setting out of range.
    """
    from zoobot import defaults

    if accelerator not in ("auto", "cpu", "gpu", "cuda", "mps"):
        raise ValueError(f"accelerator must be 'auto', 'cpu' or 'gpu', not {accelerator!r}.")
    if accelerator in ("gpu", "cuda") and facts.gpus == 0:
        raise ValueError("accelerator='gpu' was asked for, but PyTorch sees no CUDA GPU here; use 'cpu' or 'auto'.")
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and facts.gpus > 0)
    for name, value in (("torch_threads", torch_threads), ("batch_size", batch_size)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value}.")
    if decode_threads is not None and decode_threads < 0:
        raise ValueError(f"decode_threads must be >= 0 (0 decodes in worker processes), got {decode_threads}.")
    if num_workers is not None and num_workers < 0:
        raise ValueError(f"num_workers must be >= 0 (0 decodes images in the main process), got {num_workers}.")
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
    if devices == "auto":
        n_devices = facts.gpus if on_gpu else 1
    elif isinstance(devices, str) and devices.isdigit():
        n_devices = int(devices)
    elif isinstance(devices, int) and devices >= 1:
        n_devices = devices
    else:
        raise ValueError(f"devices must be 'auto' or a whole number >= 1, not {devices!r}.")
    cores = max(1, facts.cpu_cores)
    if on_gpu:
        per_gpu = max(1, cores // max(1, n_devices))
        workers = max(1, min(MAX_WORKERS_PER_GPU, per_gpu - 1))
        train_batch = _gpu_batch(min(facts.gpu_memory_gib[:n_devices] or (0.0,)))
        chosen_precision: str = "bf16-mixed" if facts.gpu_bf16 else "16-mixed"
        threads = per_gpu
    else:
        workers = max(1, cores // 4)
        train_batch = defaults.BATCH_SIZE
        chosen_precision = "32-true"
        # The encoder keeps every core; workers decode at a lower priority in the moments it waits.
        threads = cores
    workers = workers if num_workers is None else num_workers
    train_batch = batch_size or train_batch
    return MachineSettings(
        accelerator="gpu" if on_gpu else "cpu",
        devices=n_devices,
        strategy="ddp" if n_devices > 1 else "auto",
        torch_threads=torch_threads or threads,
        num_workers=workers,
        decode_threads=(0 if on_gpu else cores) if decode_threads is None else decode_threads,
        worker_nice=worker_nice if workers > 0 else 0,
        batch_size=train_batch,
        predict_batch_size=predict_batch_size or (2 * train_batch if on_gpu else defaults.PREDICT_BATCH_SIZE),
        pin_memory=on_gpu,
        persistent_workers=workers > 0,
        precision=precision or chosen_precision,  # type: ignore[arg-type]
        channels_last=on_gpu,
        compile=compile,
    )


@functools.lru_cache(maxsize=8)
def _detected(accelerator: str) -> MachineSettings:
    return choose_settings(machine_facts(), accelerator=accelerator)


def machine_settings(accelerator: str = "auto") -> MachineSettings:
    """:func:`choose_settings` for this machine (detected once per process)."""
    return _detected("gpu" if accelerator == "cuda" else accelerator)
