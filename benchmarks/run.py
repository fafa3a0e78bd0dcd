"""Zoobot speed benchmarks: every figure is a ratio to a ceiling measured in the same run.

Run from the repository root::

    python benchmarks/run.py            # demo encoder + convnext_nano (random init), ~15 min on 2 cores
    python benchmarks/run.py --quick    # fewer images, ~5 min
    python benchmarks/run.py --tiny     # seconds: test_convnext at 32 px (what the test runs)

It prints a table and writes JSON (default ``benchmarks/results/suite.json``). Shared machines are
noisy, so each pipeline is compared with its ceiling (the bare encoder on random tensors, same batch
size, on every core: the machine) measured just before and just after it; absolute numbers are reported
too. Pipelines run with :mod:`zoobot.machine`'s settings unless ``--threads`` / ``--workers`` are given.

Benchmarks (per encoder unless noted):

1. ``ceiling``: encoder forward, and forward+backward, images/s on random tensors.
2. ``predict``: ``zoobot.predict.predict_on_catalog`` on 424 px JPEGs, images/s / forward ceiling; also
   against that ceiling with the measured cost of decoding an image on one core budgeted in.
3. ``head_only``: 20 epochs of head-only finetuning, wall time / one prediction pass over the same images
   (short runs repeated, as prediction passes are, and the median taken).
4. ``full_finetune``: training images/s (augmented images, AdamW) / forward+backward ceiling; also with
   the measured cost of reading and augmenting a training image on one core budgeted in (CPU).
5. ``app`` (once): ``zoobot-app`` start to first page; status-poll handler latency with jobs running.
6. ``umap`` (once): ``zoobot.representations.compute_umap`` on 10,000 x 640 features.
7. ``memory`` (once): peak RSS of ``validate_catalog`` and ``predict_on_catalog`` at two catalog sizes.
8. ``gpu``: the same ratios with mixed precision and channels_last, when CUDA is present.

Images are generated once with ``zoobot.survey.make_survey`` into ``--cache-dir`` (not in git).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import json
import logging
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")
DEFAULT_OUT = REPO / "benchmarks" / "results" / "suite.json"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zoobot-benchmarks"
SURVEY_SIZE = 424  # GZ DECaLS cutout side
HEAD_ONLY_EPOCHS = 20
MEMORY_IMAGE_SIZE = 64

# Prediction passes (and head-only runs) shorter than this in total are repeated (up to PREDICT_PASSES);
# the median is reported (of two, the less flattering).
PREDICT_PASSES = 3
PREDICT_REPEAT_BUDGET_S = 20.0
TARGETS = {  # (comparison, value) for each ratio; ceilings are the encoder on every core (issue #21)
    "predict_vs_forward": (">=", 0.9),
    "predict_vs_decode_budget": (">=", 0.9),
    "head_only_vs_predict": ("<=", 1.2),
    "full_train_vs_forward_backward": (">=", 0.85),
    "full_train_vs_decode_budget": (">=", 0.85),
    "app_start_s": ("<=", 5.0),
    "app_poll_ms": ("<=", 200.0),
    "umap_s": ("<=", 20.0),
    "memory_growth_ratio": ("<=", 1.1),
}


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """One encoder to benchmark: a name for the table, how to get it, its input side and batch size."""

    label: str
    architecture: str | None  # timm architecture for a random-init stand-in, None for the registry name
    input_size: int
    batch_size: int
    n_predict: int
    n_train: int


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much work each benchmark does."""

    encoders: tuple[EncoderSpec, ...]
    seconds_per_ceiling: float
    memory_rows: tuple[int, int]
    memory_encoder: EncoderSpec
    umap_rows: int
    umap_dim: int
    app: bool
    app_train_images: int
    image_size: int = SURVEY_SIZE


def _demo_spec(n_predict: int, n_train: int) -> EncoderSpec:
    """The bundled demo encoder at its own input size."""
    return EncoderSpec("demo", None, 0, 64, n_predict, n_train)


def make_scale(mode: str) -> Scale:
    """The work for ``'default'`` (~12 min on 2 cores), ``'quick'`` (~5 min) or ``'tiny'`` (seconds)."""
    tiny = EncoderSpec("test_convnext (32 px)", "test_convnext", 32, 16, 48, 64)
    if mode == "tiny":
        return Scale((tiny,), 0.5, (40, 200), tiny, 300, 64, True, 24, image_size=64)
    if mode == "quick":
        return Scale(
            (
                _demo_spec(512, 512),
                EncoderSpec("convnext_nano (random init, 224 px)", "convnext_nano", 224, 16, 64, 80),
            ),
            3.0,
            (2_000, 20_000),
            tiny,
            10_000,
            640,
            True,
            128,
        )
    # 2,000 JPEGs for prediction (the figure) for both encoders: ~2 min per nano pass on 2 cores.
    return Scale(
        (
            _demo_spec(2000, 512),
            EncoderSpec("convnext_nano (random init, 224 px)", "convnext_nano", 224, 16, 2000, 128),
        ),
        5.0,
        (10_000, 100_000),
        tiny,
        10_000,
        640,
        True,
        256,
    )


def default_split(cores: int) -> tuple[int, int]:
    """(torch threads, loader workers) as :mod:`zoobot.machine` chooses them for a CPU with ``cores`` cores."""
    from zoobot.machine import MachineFacts, choose_settings

    settings = choose_settings(MachineFacts(cpu_cores=cores, memory_gib=0.0), accelerator="cpu")
    return settings.torch_threads, settings.num_workers


def usable_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def quiet() -> None:
    """Silence Lightning's banners and deprecation chatter so the table stays readable."""
    import lightning  # noqa: F401  (it sets its loggers' levels when imported)

    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


# --- data and encoders ---------------------------------------------------------------------------


def survey_catalog(cache_dir: Path, n: int, size: int = SURVEY_SIZE) -> pd.DataFrame:
    """The first ``n`` galaxies of a cached JPEG survey of ``size`` px (rendered once, grown when needed)."""
    from zoobot.survey import make_survey

    folder = cache_dir / f"survey-{size}-jpg"
    catalog_path = folder / "catalog.csv"
    if catalog_path.is_file():
        catalog = pd.read_csv(catalog_path)
        if len(catalog) >= n:
            catalog["file_loc"] = [str(folder / loc) for loc in catalog["file_loc"]]
            return catalog.iloc[:n].reset_index(drop=True)
    print(f"rendering {n} {size} px JPEGs into {folder} (once)...", flush=True)
    return make_survey(n, size=size, out_dir=folder, image_format="jpg", overwrite=True)


def repeated_catalog(base: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows cycling over ``base``'s image files (for big catalogs without big disks)."""
    index = np.arange(n) % len(base)
    return pd.DataFrame(
        {
            "id_str": [f"row-{i:07d}" for i in range(n)],
            "file_loc": base["file_loc"].to_numpy()[index],
            "ring": base["ring"].to_numpy()[index],
        }
    )


def encoder_source(spec: EncoderSpec, cache_dir: Path) -> str:
    """A source ``load_encoder`` reads: ``'demo'``, or a saved random-init encoder directory."""
    if spec.architecture is None:
        return "demo"
    import timm
    import torch

    from zoobot.encoders import card_from_model, save_encoder

    directory = cache_dir / "encoders" / f"{spec.architecture}-{spec.input_size}"
    if not (directory / "model.safetensors").is_file():
        torch.manual_seed(0)
        encoder = timm.create_model(spec.architecture, pretrained=False, num_classes=0)
        card = card_from_model(encoder, name=spec.architecture, source=str(directory))
        card = dataclasses.replace(
            card,
            input_size=(3, spec.input_size, spec.input_size),
            mean=(0.0,) * 3,
            std=(1.0,) * 3,
            description="random init, for benchmarks",
        )
        save_encoder(encoder, card, directory)
    return str(directory)


# --- timing helpers ------------------------------------------------------------------------------


def images_per_second(step: Callable[[], None], batch_size: int, seconds: float, min_steps: int = 3) -> float:
    """Images/s of ``step`` (one batch), after one warm-up step, over at least ``seconds``."""
    step()
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch_size / (time.perf_counter() - start)


def ceilings(
    encoder: Any,
    input_size: int,
    batch_size: int,
    seconds: float,
    backward: bool = True,
    device: str = "cpu",
    amp: bool = False,
    channels_last: bool = False,
) -> dict[str, float]:
    """Bare-encoder images/s on random tensors: ``forward`` (inference mode) and ``forward_backward``."""
    import torch

    x = torch.randn(batch_size, 3, input_size, input_size, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device_type=device, dtype=torch.float16, enabled=amp)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    was_training = encoder.training
    encoder.eval()

    def forward() -> None:
        with torch.inference_mode(), autocast:
            encoder(x)
        sync()

    out = {"forward": images_per_second(forward, batch_size, seconds)}
    encoder.train(was_training)
    if backward:
        # On a copy: training-mode batch norm on random tensors would rewrite the running statistics
        # of the model the benchmarks then predict and train the head with. The copy trains it all,
        # even a head-only model's encoder.
        trainable = copy.deepcopy(encoder).requires_grad_(True).train()

        def forward_backward() -> None:
            with autocast:
                loss = trainable(x).float().pow(2).mean()
            loss.backward()
            sync()

        out["forward_backward"] = images_per_second(forward_backward, batch_size, seconds)
        del trainable
    return out


def decode_seconds_per_image(
    catalog: pd.DataFrame, input_size: int, channels: int, n: int = 256, augment: bool = False, rounds: int = 3
) -> float:
    """CPU seconds one core spends reading one galaxy as prediction does (file, JPEG draft decoding,
    eval transform: :class:`zoobot.data.GalaxyDataset`), or with ``augment`` as training does (the
    training augmentations instead), one torch thread, no encoder: the decode cost a pipeline on the
    same cores has to pay besides the encoder. The median of ``rounds`` reads of the ``n`` galaxies (one
    read moved by 15% between minutes on the 2-core VM)."""
    import torch

    from zoobot.data import GalaxyDataset, get_transforms

    transform = get_transforms(input_size, channels, augment=augment)
    rows = catalog.iloc[:n].reset_index(drop=True)
    dataset = GalaxyDataset(rows, transform=transform, input_size=input_size, channels=channels)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset[0]  # first-use costs (imports, transform set-up)
        per_image = []
        for _ in range(rounds):
            start = time.process_time()
            for index in range(len(dataset)):
                dataset[index]
            per_image.append((time.process_time() - start) / len(dataset))
        return statistics.median(per_image)
    finally:
        torch.set_num_threads(threads)


def decode_budget(forward_ceiling: float, decode_s: float, cores: int) -> float:
    """Images/s a pipeline can reach when every image costs the encoder's share of the machine
    (``1 / forward_ceiling`` on every core) plus ``decode_s`` of one core's time: the all-core
    forward ceiling with the measured decode cost budgeted in (issue #21, point 1)."""
    return 1.0 / (1.0 / forward_ceiling + decode_s / cores)


def decode_budgeted(measured: dict[str, float], decode_s: float, cores: int) -> dict[str, float]:
    """A :func:`bracketed` measurement against its two ceilings' mean with ``decode_s`` budgeted in
    (:func:`decode_budget`): the decode cost, the budgeted ceiling and the ratio to it."""
    budget = decode_budget((measured["ceiling_before"] + measured["ceiling_after"]) / 2, decode_s, cores)
    return {
        "decode_ms_per_image": 1000 * decode_s,
        "decode_budget_images_per_s": budget,
        "ratio_vs_decode_budget": measured["value"] / budget,
    }


def repeated_while_short(run: Callable[[int], T], wall_s: Callable[[T], float]) -> list[T]:
    """``run(0)``, ``run(1)``, ... while fewer than :data:`PREDICT_PASSES` runs have taken under
    :data:`PREDICT_REPEAT_BUDGET_S` in all (``wall_s`` reads a run's seconds): a short measurement moves by
    several percent with this VM's noise, so it is repeated and its median reported."""
    runs: list[T] = []
    while len(runs) < PREDICT_PASSES and sum(wall_s(r) for r in runs) < PREDICT_REPEAT_BUDGET_S:
        runs.append(run(len(runs)))
    return runs


def bracketed(measure: Callable[[], float], ceiling: Callable[[], float]) -> dict[str, float]:
    """Run ``ceiling``, ``measure``, ``ceiling``; the ratio uses the mean of the two ceilings."""
    before = ceiling()
    value = measure()
    after = ceiling()
    mean = (before + after) / 2
    return {"value": value, "ceiling_before": before, "ceiling_after": after, "ratio": value / mean}


# --- per-encoder benchmarks ----------------------------------------------------------------------


def bench_encoder(
    spec: EncoderSpec, scale: Scale, cache_dir: Path, threads: int, workers: int | None, work_dir: Path
) -> dict[str, Any]:
    """Ceilings, prediction, head-only and full finetuning for one encoder."""
    import torch

    from zoobot.data import CatalogDataModule
    from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer
    from zoobot.predict import predict_on_catalog

    torch.set_num_threads(threads)
    source = encoder_source(spec, cache_dir)
    catalog = survey_catalog(cache_dir, max(spec.n_predict, spec.n_train), scale.image_size)
    predict_catalog = catalog.iloc[: spec.n_predict].reset_index(drop=True)
    model = FinetuneableZoobotClassifier(name=source, num_classes=2, training_mode="head_only", prog_bar=False)
    card = model.card
    size, batch = card.input_size[1], spec.batch_size
    from zoobot.machine import machine_settings

    settings = machine_settings("cpu")
    decode_workers, decode_threads = settings.inference_decoding(spec.n_predict, batch, workers)
    result: dict[str, Any] = {
        "encoder": spec.label,
        "architecture": card.architecture,
        "input_size": size,
        "batch_size": batch,
        "torch_threads": threads,
        "loader_workers": settings.num_workers if workers is None else workers,
        "predict_decoding": {"worker_processes": decode_workers, "threads": decode_threads},
        "n_predict": spec.n_predict,
        "n_train": spec.n_train,
    }
    print(
        f"\n== {spec.label}: {card.architecture} at {size} px, batch {batch}, {threads} torch threads, "
        f"{result['loader_workers']} loader workers for training; prediction decodes in "
        f"{f'{decode_threads} threads' if decode_threads else f'{decode_workers} worker processes'}",
        flush=True,
    )

    all_cores = usable_cores()

    def ceiling_forward() -> float:
        # The ceiling is the machine: the encoder on every core, whatever threads the pipeline was given.
        torch.set_num_threads(all_cores)
        try:
            return ceilings(model.encoder, size, batch, scale.seconds_per_ceiling, backward=False)["forward"]
        finally:
            torch.set_num_threads(threads)

    torch.set_num_threads(all_cores)
    result["ceiling_all_cores"] = ceilings(model.encoder, size, batch, scale.seconds_per_ceiling)
    result["ceiling_all_cores"]["threads"] = all_cores
    torch.set_num_threads(threads)
    result["ceiling"] = ceilings(model.encoder, size, batch, scale.seconds_per_ceiling)
    print(
        f"   ceiling: forward {result['ceiling']['forward']:.1f} img/s, forward+backward "
        f"{result['ceiling']['forward_backward']:.1f} img/s ({threads} threads); all {all_cores} cores: "
        f"{result['ceiling_all_cores']['forward']:.1f} / {result['ceiling_all_cores']['forward_backward']:.1f}",
        flush=True,
    )

    predict_wall: dict[str, float] = {}

    def run_predict() -> float:
        start = time.perf_counter()
        table = predict_on_catalog(predict_catalog, model, batch_size=batch, num_workers=workers, accelerator="cpu")
        predict_wall["s"] = time.perf_counter() - start
        if len(table) != len(predict_catalog):
            raise RuntimeError(f"predict_on_catalog returned {len(table)} rows for {len(predict_catalog)}.")
        return len(predict_catalog) / predict_wall["s"]

    # Short passes are repeated, each bracketed by its own ceilings; the median pass is reported.
    passes = repeated_while_short(
        lambda _: {**bracketed(run_predict, ceiling_forward), "wall_s": predict_wall["s"]}, lambda p: p["wall_s"]
    )
    predict = sorted(passes, key=lambda p: p["ratio"])[(len(passes) - 1) // 2]
    result["predict"] = {
        "images_per_s": predict["value"],
        "wall_s": predict["wall_s"],
        "forward_ceiling_before": predict["ceiling_before"],
        "forward_ceiling_after": predict["ceiling_after"],
        "ratio_vs_forward": predict["ratio"],
        "pass_ratios": [p["ratio"] for p in passes],
    }
    decode_s = decode_seconds_per_image(predict_catalog, size, card.channels)
    result["predict"].update(decode_budgeted(predict, decode_s, all_cores))
    budget = result["predict"]["decode_budget_images_per_s"]
    print(
        f"   predict: {predict['value']:.1f} img/s ({predict['wall_s']:.1f} s for {len(predict_catalog)}), "
        f"ratio {predict['ratio']:.3f} (median of {len(passes)} passes: "
        f"{', '.join(f'{p:.3f}' for p in result['predict']['pass_ratios'])}); decoding {1000 * decode_s:.2f} ms "
        f"of one core an image: with it budgeted the ceiling is {budget:.1f} img/s, ratio "
        f"{result['predict']['ratio_vs_decode_budget']:.3f}",
        flush=True,
    )

    # Head-only: the same images, labelled; features once, then 20 epochs of the head. Short runs are
    # repeated like the prediction passes (a fresh model, data module and trainer each), the median kept.
    train_catalog = predict_catalog

    def run_head_only(index: int) -> tuple[float, int]:
        datamodule = CatalogDataModule(
            label_cols=["ring"], catalog=train_catalog, batch_size=batch, num_workers=workers, card=card, seed=0
        )
        head_model = FinetuneableZoobotClassifier(
            name=source, num_classes=2, training_mode="head_only", learning_rate=1e-3, prog_bar=False
        )
        trainer = get_trainer(
            work_dir / f"head-{spec.architecture or 'demo'}-{index}",
            max_epochs=HEAD_ONLY_EPOCHS,
            patience=HEAD_ONLY_EPOCHS,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_progress_bar=False,
        )
        start = time.perf_counter()
        trainer.fit(head_model, datamodule=datamodule)
        return time.perf_counter() - start, trainer.current_epoch

    head_runs = repeated_while_short(run_head_only, lambda r: r[0])
    head_wall, epochs = sorted(head_runs)[len(head_runs) // 2]  # of two runs, the slower
    result["head_only"] = {
        "epochs": epochs,
        "wall_s": head_wall,
        "run_walls_s": [wall for wall, _ in head_runs],
        "predict_wall_s": predict["wall_s"],
        "ratio_vs_predict": head_wall / predict["wall_s"],
    }
    print(
        f"   head-only: {epochs} epochs in {head_wall:.1f} s (median of {len(head_runs)} runs: "
        f"{', '.join(f'{wall:.2f}' for wall, _ in head_runs)} s), {head_wall / predict['wall_s']:.2f} x one "
        "prediction pass",
        flush=True,
    )

    result["full_finetune"] = bench_full_finetune(spec, source, catalog, scale, workers, work_dir, threads=threads)
    print(
        f"   full finetune: {result['full_finetune']['images_per_s']:.1f} img/s, ratio "
        f"{result['full_finetune']['ratio_vs_forward_backward']:.3f}",
        flush=True,
    )
    return result


class BatchClock:
    """Lightning callback timing training batches after the first ``warmup`` (worker start-up, caches)."""

    def __new__(cls, warmup: int = 2) -> Any:
        import lightning as L

        class _Clock(L.Callback):
            def __init__(self) -> None:
                self.warmup = warmup
                self.times: list[float] = []
                self.sizes: list[int] = []

            def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
                self.times.append(time.perf_counter())
                self.sizes.append(len(batch["id_str"]))

            def images_per_second(self) -> float:
                if len(self.times) <= self.warmup:
                    raise RuntimeError(
                        f"Only {len(self.times)} training batches: too few to time; use more training images."
                    )
                images = sum(self.sizes[self.warmup :])
                return images / (self.times[-1] - self.times[self.warmup - 1])

        return _Clock()


def bench_full_finetune(
    spec: EncoderSpec,
    source: str,
    catalog: pd.DataFrame,
    scale: Scale,
    workers: int | None,
    work_dir: Path,
    accelerator: str = "cpu",
    amp: bool = False,
    channels_last: bool = False,
    threads: int | None = None,
) -> dict[str, Any]:
    """Full finetuning (augmented images, layer-decayed AdamW): training images/s vs the fwd+bwd ceiling of
    the encoder on every core (training runs with ``threads`` torch threads)."""
    import lightning as L
    import torch

    from zoobot.data import CatalogDataModule
    from zoobot.finetune import FinetuneableZoobotClassifier

    model = FinetuneableZoobotClassifier(name=source, num_classes=2, training_mode="full", prog_bar=False)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    card = model.card
    device = "cuda" if accelerator == "gpu" else "cpu"
    train = catalog.iloc[: spec.n_train].reset_index(drop=True)
    datamodule = CatalogDataModule(
        label_cols=["ring"],
        train_catalog=train,
        batch_size=spec.batch_size,
        num_workers=workers,
        card=card,
        augment=True,
    )
    clock = BatchClock(warmup=2)

    def measure() -> float:
        trainer = L.Trainer(
            max_epochs=1,
            accelerator=accelerator,
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            precision="16-mixed" if amp else "32-true",
            callbacks=[clock],
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        trainer.fit(model, datamodule=datamodule)
        return clock.images_per_second()

    def ceiling() -> float:
        model.to(device)
        torch.set_num_threads(usable_cores())
        try:
            return ceilings(
                model.encoder,
                card.input_size[1],
                spec.batch_size,
                scale.seconds_per_ceiling,
                device=device,
                amp=amp,
                channels_last=channels_last,
            )["forward_backward"]
        finally:
            torch.set_num_threads(threads or usable_cores())

    out = bracketed(measure, ceiling)
    result: dict[str, Any] = {
        "images_per_s": out["value"],
        "images_timed": sum(clock.sizes[clock.warmup :]),
        "forward_backward_ceiling_before": out["ceiling_before"],
        "forward_backward_ceiling_after": out["ceiling_after"],
        "ratio_vs_forward_backward": out["ratio"],
    }
    if device == "cpu":  # reading and augmenting each training image, budgeted as prediction's decoding
        decode_s = decode_seconds_per_image(train, card.input_size[1], card.channels, augment=True)
        result.update(decode_budgeted(out, decode_s, usable_cores()))
    return result


# --- app -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def time_app_start(runs_dir: Path, timeout_s: float = 120.0) -> float:
    """Seconds from launching ``zoobot-app`` to the first page served (HTTP 200 on ``/``)."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from app.main import main; main()",
        "--port",
        str(port),
        "--runs-dir",
        str(runs_dir),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"},
    )
    try:
        while time.perf_counter() - start < timeout_s:
            if process.poll() is not None:
                raise RuntimeError(f"zoobot-app exited with code {process.returncode} before serving a page.")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError(f"zoobot-app served no page within {timeout_s} s.")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_app(cache_dir: Path, work_dir: Path, source: str, n_images: int, image_size: int) -> dict[str, Any]:
    """App start (cold, then warm) and the status-poll handlers' latency while a training job and a
    map (representations + UMAP) job run in background threads of the app's own job manager."""
    cold = time_app_start(work_dir / "app-runs-cold")
    warm = time_app_start(work_dir / "app-runs-warm")
    print(f"   app start: cold {cold:.2f} s, warm {warm:.2f} s", flush=True)

    from app.engine import Engine
    from app.jobs import JobManager
    from app.runs import RunStore, new_session_id
    from app.tabs.explore import poll_map
    from app.tabs.train import poll_training
    from zoobot.config import RunConfig

    catalog = survey_catalog(cache_dir, n_images, image_size)
    engine = Engine(store=RunStore(work_dir / "app-runs-poll"), manager=JobManager())
    session = new_session_id()
    catalog_path = engine.store.session_dir(session) / "catalog.parquet"
    catalog.to_parquet(catalog_path, index=False)
    engine.store.update_state(session, catalog_path=str(catalog_path), catalog_name="benchmark")
    run_dir = engine.store.session_dir(session) / "runs" / "benchmark"
    config = RunConfig(
        task="classification",
        catalog=str(catalog_path),
        label_cols=["ring"],
        run_dir=str(run_dir),
        encoder=source,
        training_mode="full",
        max_epochs=50,
        batch_size=16,
        patience=50,
    )
    train_job = engine.submit_training(session, config)
    map_job = engine.submit_map(session, source, None)
    latencies: list[float] = []
    seen = None
    deadline = time.perf_counter() + 120
    while (train_job.active or map_job.active) and time.perf_counter() < deadline:
        # Like the browser, hand back the `seen` state the previous tick returned.
        start = time.perf_counter()
        seen = poll_training(engine, session, seen)[5]
        latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        poll_map(engine, session)
        latencies.append(time.perf_counter() - start)
        time.sleep(0.25)
        if len(latencies) >= 80 and not map_job.active:
            break
    both_running = train_job.active and map_job.active
    if train_job.active:
        engine.manager.stop(train_job.id)
    engine.manager.wait(train_job.id, timeout=300)
    engine.manager.wait(map_job.id, timeout=300)
    ms = np.array(latencies) * 1000
    out = {
        "start_cold_s": cold,
        "start_warm_s": warm,
        "poll_measured": "in-process: the handlers the "
        "gr.Timer ticks call (app.tabs.train.poll_training, app.tabs.explore.poll_map)",
        "poll_n": int(len(ms)),
        "poll_median_ms": float(np.median(ms)) if len(ms) else None,
        "poll_p95_ms": float(np.percentile(ms, 95)) if len(ms) else None,
        "poll_max_ms": float(ms.max()) if len(ms) else None,
        "jobs_still_running_at_end": both_running,
        "map_job_status": map_job.status,
        "train_job_status": train_job.status,
    }
    print(
        f"   status poll: median {out['poll_median_ms']:.1f} ms, p95 {out['poll_p95_ms']:.1f} ms, "
        f"max {out['poll_max_ms']:.1f} ms over {len(ms)} calls",
        flush=True,
    )
    return out


# --- umap ----------------------------------------------------------------------------------------

UMAP_PROBE = """
import json, sys, time
import numpy as np
rows, dim = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
centres = rng.normal(0, 4, size=(20, dim))
features = (centres[rng.integers(0, 20, rows)] + rng.normal(size=(rows, dim))).astype(np.float32)
start = time.perf_counter()
from zoobot.representations import compute_umap
imported = time.perf_counter()
coords = compute_umap(features)
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "umap_s": done - imported, "total_s": done - start,
                  "shape": list(coords.shape)}))
"""


def bench_umap(rows: int, dim: int, cores: int) -> dict[str, Any]:
    """``compute_umap`` on ``rows x dim`` clustered features in a fresh process limited to ``cores``
    (run twice: the first may compile numba functions into its on-disk cache)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": str(cores), "OMP_NUM_THREADS": str(cores)}
    runs = []
    for _ in range(2):
        command = [sys.executable, "-c", UMAP_PROBE, str(rows), str(dim)]
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))[:cores]
            command = ["taskset", "-c", ",".join(map(str, cpus)), *command] if shutil.which("taskset") else command
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {
        "rows": rows,
        "dim": dim,
        "cores": cores,
        "first_run": runs[0],
        "umap_s": runs[1]["umap_s"],
        "import_s": runs[1]["import_s"],
    }
    print(
        f"   umap {rows} x {dim}: {out['umap_s']:.1f} s (first run {runs[0]['umap_s']:.1f} s) on {cores} cores",
        flush=True,
    )
    return out


# --- memory --------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (``VmHWM``; ``ru_maxrss`` can carry a forking
    parent's peak across ``exec``)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(what: str, catalog_path: str, source: str, batch_size: int) -> dict[str, float]:
    """In a fresh process: peak RSS (MB) after importing, and after validating or predicting the catalog."""
    import torch

    quiet()
    torch.set_num_threads(1)
    catalog = pd.read_parquet(catalog_path)
    if what == "validate":
        from zoobot.catalog import validate_catalog

        baseline = peak_rss_mb()
        start = time.perf_counter()
        validate_catalog(catalog, label_cols=["ring"], task="classification", raise_on_error=False)
    else:
        from zoobot.finetune import FinetuneableZoobotClassifier
        from zoobot.predict import predict_on_catalog

        model = FinetuneableZoobotClassifier(name=source, num_classes=2, training_mode="head_only")
        baseline = peak_rss_mb()
        start = time.perf_counter()
        predict_on_catalog(catalog, model, batch_size=batch_size, num_workers=0, accelerator="cpu")
    return {"baseline_mb": baseline, "peak_mb": peak_rss_mb(), "seconds": time.perf_counter() - start}


def bench_memory(scale: Scale, cache_dir: Path, work_dir: Path) -> dict[str, Any]:
    """Peak RSS of validating and predicting catalogs of two sizes (rows reuse a few hundred files)."""
    spec = scale.memory_encoder
    source = encoder_source(spec, cache_dir)
    # Small images: memory, not decoding, is measured here, and 100,000 decodes of 424 px take minutes.
    base = survey_catalog(cache_dir, min(300, max(scale.memory_rows) // 4), MEMORY_IMAGE_SIZE)
    out: dict[str, Any] = {"encoder": spec.label, "rows": list(scale.memory_rows), "loader_workers": 0}
    for what in ("validate", "predict"):
        peaks = []
        for rows in scale.memory_rows:
            path = work_dir / f"memory-{rows}.parquet"
            if not path.is_file():
                repeated_catalog(base, rows).to_parquet(path, index=False)
            done = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--memory-probe",
                    what,
                    str(path),
                    source,
                    str(spec.batch_size),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            probe = json.loads(done.stdout.strip().splitlines()[-1])
            peaks.append(probe)
        small, large = peaks
        growth = (large["peak_mb"] - large["baseline_mb"]) / max(small["peak_mb"] - small["baseline_mb"], 1.0)
        out[what] = {
            "peak_mb": [p["peak_mb"] for p in peaks],
            "baseline_mb": [p["baseline_mb"] for p in peaks],
            "seconds": [p["seconds"] for p in peaks],
            "peak_growth_mb": large["peak_mb"] - small["peak_mb"],
            "peak_ratio": large["peak_mb"] / small["peak_mb"],
            "work_growth_ratio": growth,
        }
        print(
            f"   memory {what}: peak {small['peak_mb']:.0f} MB at {scale.memory_rows[0]} rows, "
            f"{large['peak_mb']:.0f} MB at {scale.memory_rows[1]} rows",
            flush=True,
        )
    return out


# --- gpu -----------------------------------------------------------------------------------------


def bench_gpu(scale: Scale, cache_dir: Path, work_dir: Path) -> dict[str, Any]:
    """convnext_nano at 224 px on CUDA: mixed precision, channels_last, pinned memory, a worker per
    core; predict and train images/s vs the bare forward and forward+backward ceilings."""
    import torch

    if not torch.cuda.is_available():
        return {"status": "not measured: no GPU"}
    from zoobot.finetune import FinetuneableZoobotClassifier
    from zoobot.predict import predict_on_catalog

    spec = EncoderSpec(
        "convnext_nano (random init, 224 px)",
        "convnext_nano",
        224,
        128,
        max(s.n_predict for s in scale.encoders),
        2048 if len(scale.encoders) > 1 else 256,
    )
    workers = max(2, usable_cores() - 1)
    source = encoder_source(spec, cache_dir)
    catalog = survey_catalog(cache_dir, max(spec.n_predict, spec.n_train), scale.image_size)
    model = FinetuneableZoobotClassifier(name=source, num_classes=2, training_mode="head_only", prog_bar=False)
    model = model.to("cuda", memory_format=torch.channels_last)
    size = model.card.input_size[1]

    def ceiling() -> float:
        return ceilings(
            model.encoder,
            size,
            spec.batch_size,
            scale.seconds_per_ceiling,
            backward=False,
            device="cuda",
            amp=True,
            channels_last=True,
        )["forward"]

    wall: dict[str, float] = {}

    def run_predict() -> float:
        start = time.perf_counter()
        predict_on_catalog(
            catalog.iloc[: spec.n_predict],
            model,
            batch_size=spec.batch_size,
            num_workers=workers,
            accelerator="gpu",
            precision="16-mixed",
        )
        wall["s"] = time.perf_counter() - start
        return spec.n_predict / wall["s"]

    predict = bracketed(run_predict, ceiling)
    full = bench_full_finetune(
        spec, source, catalog, scale, workers, work_dir, accelerator="gpu", amp=True, channels_last=True
    )
    return {
        "status": "measured",
        "device": torch.cuda.get_device_name(),
        "batch_size": spec.batch_size,
        "loader_workers": workers,
        "predict": {
            "images_per_s": predict["value"],
            "wall_s": wall["s"],
            "ratio_vs_forward": predict["ratio"],
            "forward_ceiling_before": predict["ceiling_before"],
            "forward_ceiling_after": predict["ceiling_after"],
        },
        "full_finetune": full,
    }


# --- report --------------------------------------------------------------------------------------


def verdict(name: str, value: float | None) -> str:
    """'yes'/'no' against the target, or '-' when not measured."""
    if value is None:
        return "-"
    op, target = TARGETS[name]
    return "yes" if (value >= target if op == ">=" else value <= target) else "no"


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(benchmark, encoder, measured, ceiling / reference, ratio or value, target met) rows."""
    rows = []
    for enc in results.get("encoders", []):
        name = enc["encoder"]
        c = enc["ceiling"]
        rows.append(
            (
                "1 encoder ceiling",
                name,
                f"fwd {c['forward']:.1f} img/s, fwd+bwd {c['forward_backward']:.1f} img/s",
                f"{enc['torch_threads']} threads, batch {enc['batch_size']}",
                "-",
                "-",
            )
        )
        p = enc["predict"]
        rows.append(
            (
                "2 predict_on_catalog",
                name,
                f"{p['images_per_s']:.1f} img/s ({enc['n_predict']} JPEGs, {p['wall_s']:.1f} s)",
                f"fwd {p['forward_ceiling_before']:.1f}/{p['forward_ceiling_after']:.1f}",
                f"{p['ratio_vs_forward']:.3f} (>= 0.9)",
                verdict("predict_vs_forward", p["ratio_vs_forward"]),
            )
        )
        if "ratio_vs_decode_budget" in p:
            rows.append(
                (
                    "2 predict, decode budgeted",
                    name,
                    f"decoding {p['decode_ms_per_image']:.2f} ms of one core an image",
                    f"fwd with decoding {p['decode_budget_images_per_s']:.1f}",
                    f"{p['ratio_vs_decode_budget']:.3f} (>= 0.9)",
                    verdict("predict_vs_decode_budget", p["ratio_vs_decode_budget"]),
                )
            )
        h = enc["head_only"]
        rows.append(
            (
                "3 head-only finetune",
                name,
                f"{h['epochs']} epochs in {h['wall_s']:.1f} s",
                f"predict pass {h['predict_wall_s']:.1f} s",
                f"{h['ratio_vs_predict']:.2f}x (<= 1.2)",
                verdict("head_only_vs_predict", h["ratio_vs_predict"]),
            )
        )
        f = enc["full_finetune"]
        rows.append(
            (
                "4 full finetune",
                name,
                f"{f['images_per_s']:.1f} img/s",
                f"fwd+bwd {f['forward_backward_ceiling_before']:.1f}/{f['forward_backward_ceiling_after']:.1f}",
                f"{f['ratio_vs_forward_backward']:.3f} (>= 0.85)",
                verdict("full_train_vs_forward_backward", f["ratio_vs_forward_backward"]),
            )
        )
        if "ratio_vs_decode_budget" in f:
            rows.append(
                (
                    "4 full finetune, decode budgeted",
                    name,
                    f"reading + augmenting {f['decode_ms_per_image']:.2f} ms of one core an image",
                    f"fwd+bwd with it {f['decode_budget_images_per_s']:.1f}",
                    f"{f['ratio_vs_decode_budget']:.3f} (>= 0.85)",
                    verdict("full_train_vs_decode_budget", f["ratio_vs_decode_budget"]),
                )
            )
    app = results.get("app")
    if app:
        rows.append(
            (
                "5 app start (warm)",
                "-",
                f"{app['start_warm_s']:.2f} s (cold {app['start_cold_s']:.2f} s)",
                "first page",
                f"{app['start_warm_s']:.2f} s (<= 5)",
                verdict("app_start_s", app["start_warm_s"]),
            )
        )
        if app.get("poll_p95_ms") is not None:
            rows.append(
                (
                    "5 status poll",
                    "-",
                    f"median {app['poll_median_ms']:.1f} ms, max {app['poll_max_ms']:.1f} ms",
                    "training + map jobs running",
                    f"p95 {app['poll_p95_ms']:.1f} ms (< 200)",
                    verdict("app_poll_ms", app["poll_p95_ms"]),
                )
            )
    umap = results.get("umap")
    if umap:
        rows.append(
            (
                "6 UMAP",
                "-",
                f"{umap['rows']} x {umap['dim']} in {umap['umap_s']:.1f} s",
                f"{umap['cores']} cores (first run {umap['first_run']['umap_s']:.1f} s)",
                f"{umap['umap_s']:.1f} s (<= 20)",
                verdict("umap_s", umap["umap_s"]),
            )
        )
    memory = results.get("memory")
    if memory:
        for what in ("validate", "predict"):
            m = memory[what]
            rows.append(
                (
                    f"7 memory: {what}",
                    memory["encoder"] if what == "predict" else "-",
                    f"peak {m['peak_mb'][0]:.0f} MB -> {m['peak_mb'][1]:.0f} MB",
                    f"{memory['rows'][0]} -> {memory['rows'][1]} rows",
                    f"+{m['peak_growth_mb']:.0f} MB (x{m['peak_ratio']:.2f})",
                    verdict("memory_growth_ratio", m["peak_ratio"]),
                )
            )
    gpu = results.get("gpu", {})
    if gpu.get("status") == "measured":
        rows.append(
            (
                "8 GPU predict",
                gpu["device"],
                f"{gpu['predict']['images_per_s']:.0f} img/s",
                "amp fwd",
                f"{gpu['predict']['ratio_vs_forward']:.3f}",
                verdict("predict_vs_forward", gpu["predict"]["ratio_vs_forward"]),
            )
        )
        rows.append(
            (
                "8 GPU full finetune",
                gpu["device"],
                f"{gpu['full_finetune']['images_per_s']:.0f} img/s",
                "amp fwd+bwd",
                f"{gpu['full_finetune']['ratio_vs_forward_backward']:.3f}",
                verdict("full_train_vs_forward_backward", gpu["full_finetune"]["ratio_vs_forward_backward"]),
            )
        )
    else:
        rows.append(("8 GPU", "convnext_nano 224 px", gpu.get("status", "not run"), "-", "-", "-"))
    return rows


def format_table(results: dict[str, Any]) -> str:
    """A Markdown table of the results."""
    header = ("benchmark", "encoder", "measured", "ceiling / reference", "ratio (target)", "met")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    return {
        "cpu": model,
        "cores": usable_cores(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def run_suite(
    mode: str,
    out: Path,
    cache_dir: Path,
    only: set[str] | None = None,
    threads: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run the benchmarks of ``mode`` and write the JSON to ``out``; returns the results."""
    from zoobot.inference import reuse_freed_memory

    quiet()
    # The library's pipelines set the allocator so (run_batches, fitting); the bare-encoder
    # ceilings must run in the same process state, or a ceiling measured before the first pipeline
    # would be ~25% slow on this CPU, and one measured after it not.
    freed_memory_reused = reuse_freed_memory()
    scale = make_scale(mode)
    cores = usable_cores()
    default_threads, _ = default_split(cores)
    threads = threads or default_threads  # workers None: each pipeline's own choice (zoobot.machine)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": mode,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "targets": {k: list(v) for k, v in TARGETS.items()},
        "freed_memory_reused": freed_memory_reused,
    }
    wanted = only or {"encoders", "app", "umap", "memory", "gpu"}
    with tempfile.TemporaryDirectory(prefix="zoobot-bench-") as tmp:
        work_dir = Path(tmp)
        if "encoders" in wanted:
            results["encoders"] = [
                bench_encoder(spec, scale, cache_dir, threads, workers, work_dir) for spec in scale.encoders
            ]
        if "umap" in wanted:
            print("\n== UMAP", flush=True)
            results["umap"] = bench_umap(scale.umap_rows, scale.umap_dim, min(2, cores))
        if "memory" in wanted:
            print("\n== memory", flush=True)
            results["memory"] = bench_memory(scale, cache_dir, work_dir)
        if "app" in wanted and scale.app:
            print("\n== app", flush=True)
            spec = scale.encoders[0]
            results["app"] = bench_app(
                cache_dir, work_dir, encoder_source(spec, cache_dir), scale.app_train_images, scale.image_size
            )
        if "gpu" in wanted:
            results["gpu"] = bench_gpu(scale, cache_dir, work_dir)
    results["suite_wall_s"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print("\n" + format_table(results))
    print(
        f"\n{results['machine']['cpu']}, {cores} cores, {results['date']}; suite took "
        f"{results['suite_wall_s'] / 60:.1f} min; JSON: {out}"
    )
    return results


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer images (~5 min on 2 cores)")
    size.add_argument("--tiny", action="store_true", help="test_convnext at 32 px, a few images (seconds)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where generated images are kept")
    parser.add_argument(
        "--only", nargs="+", choices=["encoders", "app", "umap", "memory", "gpu"], help="run only these benchmarks"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: zoobot.machine's, every core)")
    parser.add_argument("--workers", type=int, help="data-loading worker processes (default: zoobot.machine's)")
    parser.add_argument(
        "--memory-probe", nargs=4, metavar=("WHAT", "CATALOG", "SOURCE", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.memory_probe:
        what, catalog, source, batch = args.memory_probe
        print(json.dumps(memory_probe(what, catalog, source, int(batch))))
        return
    mode = "tiny" if args.tiny else "quick" if args.quick else "default"
    run_suite(mode, args.out, args.cache_dir, set(args.only) if args.only else None, args.threads, args.workers)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
