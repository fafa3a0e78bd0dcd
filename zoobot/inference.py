"""The inference runtime: one in-order, no-grad pass of a model over a catalog's images.

Prediction (:func:`zoobot.predict.predict_on_catalog`), representations
(:func:`zoobot.representations.get_representations`) and head-only feature caching
(:meth:`zoobot.data.CatalogDataModule.cache_features`) all run the encoder once over a dataset with
:func:`run_batches` over an :func:`inference_loader`: a plain loop, no Trainer, 16-bit autocast on
a GPU. :func:`reuse_freed_memory` keeps that loop (and training) near the encoder's bare speed on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

__all__ = [
    "inference_device",
    "machine_loader",
    "settings_loader",
    "reuse_freed_memory",
    "RampBatchSampler",
    "ThreadedBatches",
    "inference_loader",
    "run_batches",
]


def inference_device(accelerator: str = "auto") -> torch.device:
    """``'auto'``/``'gpu'``/``'cuda'``/``'cpu'`` -> the device to run inference on."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    if accelerator not in ("auto", "cpu"):
        raise ValueError(f"accelerator must be 'auto', 'cpu' or 'gpu', not {accelerator!r}.")
    return torch.device("cpu")


_AUTOCAST = {
    "16-mixed": torch.float16,
    "16": torch.float16,
    "bf16-mixed": torch.bfloat16,
    "bf16": torch.bfloat16,
    "32-true": None,
    "32": None,
}


# glibc mallopt parameters (malloc.h); mallopt returns 1 on success.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_FREED_MB = {"mmap_threshold": 64, "trim_threshold": 256}
_freed_memory_kept = False


def reuse_freed_memory() -> bool:
    """Have the C allocator keep freed tensor memory for reuse instead of returning it to the OS.

    A forward pass allocates and frees activations of several MB each. With glibc's defaults they
    are mapped fresh from the operating system and handed back after use, so every batch faults the
    same pages in again: on a 2-core VM, one thread ran the demo encoder at 446 img/s in a fresh
    process and at 585 img/s with this set (it is what preloading jemalloc or tcmalloc, PyTorch's CPU
    tuning advice, achieves). Allocations below 64 MB come from the heap and up to 256 MB of freed
    memory stays with the process. Called by :func:`run_batches` and when fitting starts; it acts
    once per process, on Linux with glibc, and does nothing elsewhere.

    Returns:
        Whether the allocator is now set so (False where it is not glibc's).
    """
    global _freed_memory_kept
    if not _freed_memory_kept:
        import ctypes

        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (AttributeError, OSError):  # not glibc (macOS, Windows, musl builds without it)
            return False
        mb = 1 << 20
        _freed_memory_kept = bool(
            mallopt(_M_MMAP_THRESHOLD, _KEEP_FREED_MB["mmap_threshold"] * mb)
            and mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_MB["trim_threshold"] * mb)
        )
    return _freed_memory_kept


class RampBatchSampler(Sampler[list[int]]):
    """Indices ``0 .. n-1`` in order, in batches that start at ``batch_size // 8`` and double up to ``batch_size``.

    With loader workers, the model waits while the first batch is decoded; a small first batch lets
    it start sooner while the workers get ahead. On 2 cores with the demo encoder and 424 px JPEGs,
    the wait for the first batch of 64 was about 165 ms, for a first batch of 8 about 65 ms.
    """

    def __init__(self, n: int, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        self.n, self.batch_size = n, batch_size

    def _sizes(self) -> list[int]:
        sizes, size, left = [], max(1, self.batch_size // 8), self.n
        while left > 0:
            sizes.append(min(size, left))
            left -= sizes[-1]
            size = min(2 * size, self.batch_size)
        return sizes

    def __iter__(self) -> Any:
        start = 0
        for size in self._sizes():
            yield list(range(start, start + size))
            start += size

    def __len__(self) -> int:
        return len(self._sizes())


class ThreadedBatches:
    """Batches of a dataset in order, decoded by threads of this process while the model computes.

    An alternative to loader worker processes on a CPU: the next batch's images are decoded by
    ``threads`` threads (JPEG decoding and resizing release the GIL) while the encoder computes the
    current one, so there is no worker to start and no batch to copy between processes. Iterates
    like a ``DataLoader`` (dicts collated by ``default_collate``) and has its ``dataset``.

    The threads' torch ops (the eval transform) use torch's thread count, as the encoder does: when
    decoding is the slower half (a small encoder), they use the cores the waiting encoder leaves idle.
    Limited to one OpenMP thread each they were slower for the demo encoder
    and no faster for convnext_nano (benchmarks/README.md, "Decoding while the encoder computes").

    ``ahead`` batches are queued for decoding beyond the one the model is computing: with two the
    threads always have work while the encoder runs (2,000 demo images on 2 cores: 667 img/s against
    617 with one, the cores busy 1.88 of 2 against 1.84; convnext_nano 45 img/s either way).
    """

    def __init__(self, dataset: Dataset, batch_size: int = 64, threads: int = 2, ahead: int = 2) -> None:
        if batch_size < 1 or threads < 1 or ahead < 1:
            raise ValueError(f"batch_size, threads and ahead must be >= 1, got {batch_size}, {threads}, {ahead}.")
        self.dataset, self.batch_size, self.threads, self.ahead = dataset, batch_size, threads, ahead

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)  # type: ignore[arg-type]
        starts = range(0, n, self.batch_size)
        with ThreadPoolExecutor(self.threads, "zoobot-decode") as pool:
            pending: list[list[Future]] = []
            try:
                for start in starts:
                    pending.append(
                        [
                            pool.submit(self.dataset.__getitem__, i)
                            for i in range(start, min(start + self.batch_size, n))
                        ]
                    )
                    if len(pending) > self.ahead:
                        yield default_collate([item.result() for item in pending.pop(0)])
                while pending:
                    yield default_collate([item.result() for item in pending.pop(0)])
            finally:  # stopped early (an error, a break): drop what was queued
                for batch in pending:
                    for item in batch:
                        item.cancel()


def inference_loader(
    dataset: Dataset,
    batch_size: int = 64,
    num_workers: int = 0,
    prefetch_factor: int = 4,
    pin_memory: bool = False,
    worker_init_fn: Callable[[int], None] | None = None,
    decode_threads: int = 0,
) -> DataLoader | ThreadedBatches:
    """One in-order pass over ``dataset`` for :func:`run_batches` (prediction, representations, feature caching).

    With worker processes the first batches are smaller (:class:`RampBatchSampler`) so the model
    starts while the workers decode ahead; without workers every batch is ``batch_size``.
    ``worker_init_fn`` runs in each worker first (e.g. :meth:`zoobot.machine.MachineSettings.worker_init_fn`,
    which lowers the workers' priority on a CPU-only machine). Without workers, ``decode_threads`` > 1
    decodes the next batch in that many threads of this process while the current one computes
    (:class:`ThreadedBatches`).
    """
    if num_workers <= 0 and decode_threads > 1:
        return ThreadedBatches(dataset, batch_size, decode_threads)
    if num_workers <= 0:
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0, pin_memory=pin_memory)
    return DataLoader(
        dataset,
        batch_sampler=RampBatchSampler(len(dataset), batch_size),  # type: ignore[arg-type]
        num_workers=num_workers,
        prefetch_factor=prefetch_factor,
        pin_memory=pin_memory,
        worker_init_fn=worker_init_fn,
    )


def machine_loader(
    dataset: Any,
    device: torch.device,
    batch_size: int | None = None,
    num_workers: int | None = None,
    prefetch_factor: int = 4,
) -> tuple[DataLoader | ThreadedBatches, Any]:
    """:func:`inference_loader` with the machine's settings (:mod:`zoobot.machine`) where none are given.

    Pinned host memory on a GPU lets batches copy asynchronously, overlapping the next batch's compute;
    on a CPU threads of this process decode the next batch while the encoder computes
    (:class:`ThreadedBatches`) unless ``num_workers`` asks for worker processes. Returns the loader and
    the settings.
    """
    from zoobot.machine import machine_settings

    settings = machine_settings("gpu" if device.type == "cuda" else "cpu")
    batch = batch_size or settings.predict_batch_size
    return settings_loader(dataset, settings, batch, num_workers, prefetch_factor), settings


def settings_loader(
    dataset: Dataset,
    settings: Any,
    batch_size: int,
    num_workers: int | None = None,
    prefetch_factor: int = 4,
    pin_memory: bool | None = None,
) -> DataLoader | ThreadedBatches:
    """:func:`inference_loader` as ``settings`` (:class:`zoobot.machine.MachineSettings`) choose it: worker
    processes or decoding threads (:meth:`~zoobot.machine.MachineSettings.inference_decoding`; ``num_workers``
    given means processes), the workers' priority, and pinned memory (``settings.pin_memory`` unless given)."""
    workers, threads = settings.inference_decoding(len(dataset), batch_size, num_workers)  # type: ignore[arg-type]
    init = settings.worker_init_fn() if workers > 0 else None
    pin = settings.pin_memory if pin_memory is None else pin_memory
    return inference_loader(dataset, batch_size, workers, prefetch_factor, pin, init, threads)


def run_batches(
    fn: Callable[[torch.Tensor], torch.Tensor],
    loader: DataLoader | ThreadedBatches,
    device: torch.device,
    precision: str | None = None,
    progress: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
    channels_last: bool = False,
) -> torch.Tensor:
    """``fn`` on every batch's ``'image'``, without gradients; the outputs as one float32 CPU tensor.

    A plain loop (no Trainer): prediction, representations and feature caching run the encoder
    once over a catalog, and the loader's worker processes decode the next batches meanwhile.

    Args:
        fn: images ``(B, C, H, W)`` on ``device`` -> outputs ``(B, ...)``.
        loader: yields dicts with ``'image'``.
        device: where ``fn`` runs.
        precision: ``None`` (16-bit mixed on a GPU, 32-bit on the CPU), ``'16-mixed'``,
            ``'bf16-mixed'`` or ``'32-true'``.
        progress: show a progress bar (tqdm).
        on_batch: called after each batch with ``(images done, images in all)`` (e.g. to write progress).
        channels_last: hand ``fn`` the images in channels-last memory (faster convolutions on a GPU).
    """
    if precision is not None and precision not in _AUTOCAST:
        raise ValueError(f"precision must be one of {', '.join(_AUTOCAST)} (or None), not {precision!r}.")
    dtype = _AUTOCAST[precision] if precision is not None else (torch.float16 if device.type == "cuda" else None)
    reuse_freed_memory()
    batches: Any = loader
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(loader, unit="batch")
    chunks = []
    total = len(loader.dataset) if on_batch is not None else 0  # type: ignore[arg-type]
    done = 0
    memory = torch.channels_last if channels_last else torch.preserve_format
    with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        for batch in batches:
            images = batch["image"].to(device, non_blocking=True).to(memory_format=memory)
            chunks.append(fn(images).float().cpu())
            if on_batch is not None:
                done += len(chunks[-1])
                on_batch(done, total)
    return torch.cat(chunks) if chunks else torch.zeros(0)
