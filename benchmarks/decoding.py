"""How prediction on a CPU should decode its images: compared in one process, alternated.

Each candidate reads the same JPEGs with the library's dataset and inference loop
(:func:`zoobot.inference.inference_loader`, :func:`zoobot.inference.run_batches`) and runs the encoder:

- ``threads``: the library's CPU default, threads of this process decode the next batch while the
  encoder computes (:class:`zoobot.inference.ThreadedBatches`, one thread per core);
- ``worker``: one loader worker process (the default before);
- ``serial``: decoding and compute take turns in the main process (``num_workers=0``);
- ``worker, 1 torch thread``: a core left to the worker.

The passes are interleaved with the encoder's bare forward ceiling on every core (random tensors),
so a busy machine slows both sides of each ratio. Usage::

    python benchmarks/decoding.py --encoder demo --images 1024 --repeats 3
    python benchmarks/decoding.py --encoder convnext_nano --images 192 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import run as suite  # benchmarks/run.py: the survey JPEGs, encoders and ceilings it measures with

OUT = Path(__file__).resolve().parent / "results" / "decoding.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=["demo", "convnext_nano"], default="demo")
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=suite.DEFAULT_CACHE, help="where the survey JPEGs are kept")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON of every pass (default: %(default)s)")
    args = parser.parse_args(argv)

    import torch

    from zoobot.datasets import GalaxyDataset
    from zoobot.finetune import FinetuneableZoobotClassifier
    from zoobot.inference import inference_loader, run_batches
    from zoobot.transforms import get_transforms

    suite.quiet()
    cores = suite.usable_cores()
    spec = (
        suite._demo_spec(args.images, 0)
        if args.encoder == "demo"
        else suite.EncoderSpec("convnext_nano", "convnext_nano", 224, 16, args.images, 0)
    )
    model = FinetuneableZoobotClassifier(
        name=suite.encoder_source(spec, args.cache_dir), num_classes=2, training_mode="head_only", prog_bar=False
    )
    card, batch = model.card, spec.batch_size
    catalog = suite.survey_catalog(args.cache_dir, args.images)
    transform = get_transforms(card.input_size, card.channels, card.mean, card.std, augment=False)
    dataset = GalaxyDataset(catalog, label_cols=None, transform=transform, input_size=card.input_size)
    encoder = model.encoder.eval()

    def candidate(torch_threads: int, workers: int, decode_threads: int) -> Callable[[], float]:
        def measure() -> float:
            torch.set_num_threads(torch_threads)
            try:
                start = time.perf_counter()
                loader = inference_loader(dataset, batch, workers, decode_threads=decode_threads)
                run_batches(encoder, loader, torch.device("cpu"))
                return len(dataset) / (time.perf_counter() - start)
            finally:
                torch.set_num_threads(cores)

        return measure

    candidates = {
        "threads": candidate(cores, 0, cores),
        "worker": candidate(cores, 1, 0),
        "serial": candidate(cores, 0, 0),
        "worker, 1 torch thread": candidate(max(1, cores - 1), 1, 0),
    }

    def ceiling() -> float:
        torch.set_num_threads(cores)
        return suite.ceilings(encoder, card.input_size[1], batch, 3.0, backward=False)["forward"]

    for measure in candidates.values():
        measure()  # warm: page cache, allocator, worker start-up code paths
    passes: dict[str, list[float]] = {name: [] for name in candidates}
    ceilings: list[float] = []
    for repeat in range(args.repeats):
        ceilings.append(ceiling())
        for name, measure in candidates.items():
            passes[name].append(measure())
        ceilings.append(ceiling())
        print(f"repeat {repeat + 1}: " + ", ".join(f"{n} {v[-1]:.1f}" for n, v in passes.items()), flush=True)
    top = statistics.median(ceilings)
    print(f"\n{args.encoder}, {args.images} JPEGs, batch {batch}, {cores} cores: forward ceiling {top:.1f} img/s")
    for name, values in passes.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median:7.1f} img/s  {median / top:.3f} of the ceiling")
    if args.out:  # one JSON per encoder: results/decoding.json holds the demo's; name others with --out
        record = {"encoder": args.encoder, "images": args.images, "batch_size": batch, "cores": cores}
        record |= {"machine": suite.machine(), "ceilings": ceilings, "passes": passes}
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
