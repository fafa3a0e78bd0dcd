"""Survey scale: predictions and representations for a catalog of any size, in Parquet shards.

A catalog of 10^8 galaxies does not fit in memory, takes days, and runs on many GPUs. Here:

- The catalog is read in chunks of ``shard_rows`` rows (CSV with pandas, Parquet with pyarrow, or a
  DataFrame sliced), so memory holds one chunk and its predictions at a time.
- Chunk ``k`` becomes ``OUT/shard-<k>.parquet``, written atomically (a temporary file renamed when
  complete, :func:`zoobot.runs.atomic_path`): a shard on disk is finished, a killed run leaves none half
  written.
- Run the same command again after a kill: finished shards are skipped, the rest are predicted.
- Several processes (Lightning DDP ranks, torchrun, SLURM tasks) share the work: chunk ``k`` belongs to
  rank ``k % world_size``, so no shard is predicted twice and none is left out.
- :func:`merge_shards` (``zoobot merge-shards``) joins the shards, one at a time, into one file in
  catalog order, and refuses when one is missing.

Each shard is the table :func:`zoobot.predict.predict_on_catalog` (or
:func:`zoobot.representations.get_representations`) gives for its rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported when a catalog is read: ``zoobot --help`` stays quick
    import pandas as pd

__all__ = [
    "SHARD_ROWS",
    "ShardsDone",
    "catalog_chunks",
    "process_rank",
    "write_shards",
    "predict_to_shards",
    "representations_to_shards",
    "merge_shards",
    "launch_processes",
    "is_shard_folder",
]

SHARD_ROWS = 100_000
"""Catalog rows per shard by default: about a minute of a GPU's work, a few MB of Parquet."""
MANIFEST = "shards.json"
_DONE = "done-rank{rank}-of-{world}.json"


@dataclass(frozen=True)
class ShardsDone:
    """What one process did: shards it wrote, shards it found finished, and the catalog's shard count."""

    out_dir: Path
    written: int
    skipped: int
    n_shards: int
    rank: int
    world_size: int


def is_shard_folder(path: str | Path) -> bool:
    """Whether ``--out`` names a folder of shards: it ends in ``/``, is a folder, or has no file extension."""
    text = str(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or Path(text).suffix == ""


def shard_path(out_dir: str | Path, index: int) -> Path:
    """The file of shard ``index``."""
    return Path(out_dir) / f"shard-{index:06d}.parquet"


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process: torch.distributed's when initialised (Lightning DDP), else
    ``RANK`` / ``WORLD_SIZE`` (torchrun), else ``SLURM_PROCID`` / ``SLURM_NTASKS``, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    for rank_key, world_key in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank_key in os.environ and world_key in os.environ:
            return int(os.environ[rank_key]), int(os.environ[world_key])
    return 0, 1


def catalog_chunks(catalog: str | Path | pd.DataFrame, shard_rows: int = SHARD_ROWS) -> Iterator[pd.DataFrame]:
    """The catalog ``shard_rows`` rows at a time, ``file_loc`` made absolute against the catalog's folder.

    Args:
        catalog: a CSV or Parquet file (read in chunks, never whole), or a DataFrame (sliced).
        shard_rows: rows per chunk.
    """
    import pandas as pd

    from zoobot.catalog import CatalogError, resolve_file_locs

    if shard_rows < 1:
        raise ValueError(f"shard_rows must be a whole number >= 1, got {shard_rows}.")
    if isinstance(catalog, pd.DataFrame):
        for start in range(0, len(catalog), shard_rows):
            yield catalog.iloc[start : start + shard_rows].reset_index(drop=True)
        return
    path = Path(catalog)
    if not path.is_file():
        raise CatalogError(f"Catalog file {path} does not exist; check the path.")
    name = path.name.lower()
    chunks: Iterator[pd.DataFrame]
    if name.endswith((".csv", ".csv.gz")):
        chunks = iter(pd.read_csv(path, dtype={"id_str": str}, chunksize=shard_rows))
    elif name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(batch_size=shard_rows)
        chunks = (batch.to_pandas() for batch in batches)
    else:
        raise CatalogError(f"{path.name}: a survey-scale catalog must be .csv, .csv.gz or .parquet.")
    for chunk in chunks:
        chunk["id_str"] = chunk["id_str"].astype(str)
        yield resolve_file_locs(chunk, path.parent)


def _check_manifest(out_dir: Path, what: str, shard_rows: int) -> None:
    """Write the folder's manifest, or check a resumed run uses the same shard size and kind of output."""
    manifest = out_dir / MANIFEST
    expected = {"what": what, "shard_rows": shard_rows}
    if manifest.is_file():
        found = json.loads(manifest.read_text())
        if found != expected:
            raise ValueError(
                f"{out_dir} holds {found['what']} shards of {found['shard_rows']} rows, not {what} shards of "
                f"{shard_rows}: resume with --shard-rows {found['shard_rows']}, or write to a new folder."
            )
        return
    from zoobot.runs import write_atomic

    write_atomic(manifest, json.dumps(expected))


def write_shards(
    catalog: str | Path | pd.DataFrame,
    out_dir: str | Path,
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    what: str,
    shard_rows: int = SHARD_ROWS,
    rank: int | None = None,
    world_size: int | None = None,
    on_shard: Callable[[int, Path], None] | None = None,
) -> ShardsDone:
    """``compute`` on each of this process's chunks of the catalog, each table written as a shard.

    Args:
        catalog: a CSV / Parquet file or a DataFrame (see :func:`catalog_chunks`).
        out_dir: the shard folder (created).
        compute: a chunk of catalog rows -> its table.
        what: the kind of table (``'predictions'``, ``'representations'``), kept in the manifest.
        shard_rows: catalog rows per shard; a resumed run must use the same.
        rank, world_size: this process's share (default: :func:`process_rank`).
        on_shard: called with (index, path) after each shard is written.
    """
    from zoobot.runs import atomic_path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if rank is None or world_size is None:
        rank, world_size = process_rank()
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} must be from 0 to world_size - 1 ({world_size - 1}).")
    if rank == 0:
        _check_manifest(out, what, shard_rows)
    written = skipped = n_shards = 0
    for index, chunk in enumerate(catalog_chunks(catalog, shard_rows)):
        n_shards = index + 1
        if index % world_size != rank:
            continue
        path = shard_path(out, index)
        if path.is_file():
            skipped += 1
            continue
        table = compute(chunk)
        if len(table) != len(chunk):
            raise RuntimeError(f"Shard {index}: {len(table)} rows computed for {len(chunk)} catalog rows.")
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False)
        written += 1
        if on_shard is not None:
            on_shard(index, path)
    from zoobot.runs import write_atomic

    done = {"n_shards": n_shards, "shard_rows": shard_rows}
    write_atomic(out / _DONE.format(rank=rank, world=world_size), json.dumps(done))
    return ShardsDone(out, written, skipped, n_shards, rank, world_size)


_SHARDING = ("shard_rows", "rank", "world_size", "on_shard")


def _pop_sharding(options: dict[str, Any]) -> dict[str, Any]:
    """Take :func:`write_shards`'s keyword arguments out of a public function's ``**options`` (the rest go to the
    prediction or representation function), so that they are declared once, there."""
    return {name: options.pop(name) for name in _SHARDING if name in options}


def predict_to_shards(
    catalog: str | Path | pd.DataFrame, model: Any, out_dir: str | Path, **options: Any
) -> ShardsDone:
    """Predict a catalog of any size into Parquet shards; run it again to resume after a kill.

    Args:
        catalog: a CSV / Parquet catalog file (``file_loc`` relative to its folder, or absolute) or a DataFrame.
        model: a finetuned model (as for :func:`zoobot.predict.predict_on_catalog`).
        out_dir: the shard folder; merge it with :func:`merge_shards`.
        **options: :func:`write_shards`'s ``shard_rows`` (catalog rows per shard, default 100,000), ``rank``
            and ``world_size`` (this process's share of the shards, default: from Lightning / torchrun / SLURM)
            and ``on_shard`` (called with (index, path) after each shard is written); the rest are
            :func:`zoobot.predict.predict_on_catalog`'s, but ``save_loc`` (``batch_size``, ``num_workers``,
            ``accelerator``, ``n_samples``, ...).

    Returns:
        What this process did (:class:`ShardsDone`).
    """
    from zoobot.predict import predict_on_catalog

    if "save_loc" in options:
        raise ValueError("predict_to_shards writes shards into out_dir; leave save_loc out.")

    sharding = _pop_sharding(options)

    def predict(chunk: pd.DataFrame) -> pd.DataFrame:
        return predict_on_catalog(chunk, model, **options)

    return write_shards(catalog, out_dir, predict, "predictions", **sharding)


def representations_to_shards(
    catalog: str | Path | pd.DataFrame, encoder: Any, out_dir: str | Path, **options: Any
) -> ShardsDone:
    """Representations of a catalog of any size into Parquet shards (:func:`predict_to_shards`'s path).

    ``**options`` are :func:`predict_to_shards`'s ``shard_rows``, ``rank``, ``world_size`` and ``on_shard``, and
    :func:`zoobot.representations.get_representations`'s (``batch_size``, ``num_workers``, ``accelerator``, ...),
    but not ``pca_components`` (PCA needs every row: fit it on the merged file, or a sample of it).
    """
    from zoobot.representations import get_representations, resolve_encoder

    if "save_loc" in options or options.get("pca_components") is not None:
        raise ValueError("representations_to_shards takes neither save_loc nor pca_components (PCA needs every row).")

    sharding = _pop_sharding(options)
    module, card = resolve_encoder(encoder, options.pop("card", None), options.pop("channels", None))

    def represent(chunk: pd.DataFrame) -> pd.DataFrame:
        return get_representations(chunk, module, card=card, **options)

    return write_shards(catalog, out_dir, represent, "representations", **sharding)


def launch_processes(accelerator: str = "auto", devices: int = 1, num_nodes: int = 1) -> tuple[int, int]:
    """Start one process per device through Lightning (DDP; on a cluster, its SLURM / torchrun environment)
    and return this process's (rank, world size). With one device and one node nothing is started.

    On a CPU each process computes with ``cores // devices`` torch threads.
    """
    if devices == 1 and num_nodes == 1:
        return process_rank()
    import lightning as L

    from zoobot.machine import choose_settings, machine_facts

    fabric = L.Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy="ddp")
    fabric.launch()
    if fabric.device.type == "cpu":
        cores = machine_facts().cpu_cores
        choose_settings(machine_facts(), "cpu", torch_threads=max(1, cores // devices)).apply_threads()
    return fabric.global_rank, fabric.world_size


def _shard_count(out: Path) -> int:
    """The catalog's shard count, from the processes that finished; refuses when none did."""
    counts = {json.loads(p.read_text())["n_shards"] for p in out.glob("done-rank*-of-*.json")}
    if not counts:
        raise ValueError(
            f"{out} has no finished process yet: run the same predict command again until it finishes, then merge."
        )
    return max(counts)


def merge_shards(out_dir: str | Path, save_loc: str | Path) -> Path:
    """Join a shard folder into one ``.parquet`` or ``.csv`` file, in catalog order, one shard in memory at a time.

    Raises:
        ValueError: a shard is missing (the message names them: run the same command again to finish).
    """
    import pandas as pd
    import pyarrow.parquet as pq

    from zoobot.runs import atomic_path

    out, target = Path(out_dir), Path(save_loc)
    if target.suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"{target} must end in .parquet or .csv.")
    n_shards = _shard_count(out)
    if n_shards == 0:
        raise ValueError(f"{out}: the catalog had no rows, so there is nothing to merge.")
    missing = [i for i in range(n_shards) if not shard_path(out, i).is_file()]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise ValueError(
            f"{len(missing)} of {n_shards} shards are missing in {out} ({shown}): run the same command again "
            f"(it predicts only the missing shards), then merge."
        )
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".parquet":
            writer = None
            for i in range(n_shards):
                table = pq.read_table(shard_path(out, i))
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
        else:
            for i in range(n_shards):
                pd.read_parquet(shard_path(out, i)).to_csv(tmp, mode="a", header=i == 0, index=False)
    return target
