"""The engine: the app's state (runs folder, job manager, limits) and the jobs it launches.

Everything computed here goes through zoobot's public API; this module only decides *where*
things are kept (per session, under the runs folder) and runs long work as background jobs.
Heavy modules (torch, lightning, timm, umap) are imported inside the job functions, so the first
page is served quickly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from app.jobs import Job, JobContext, JobManager
from app.runs import RunStore, SessionState
from app.uploads import (StoredUpload, UploadError, UploadLimits, check_inside, match_uploaded_files,
                         pick_base_dir)

DEMO_SURVEY_SIZE = 600
DEMO_IMAGE_SIZE = 128
DEMO_SEED = 0


class AppInputError(ValueError):
    """Something the user asked for that cannot be done yet; the message says what to do first."""


@dataclass(frozen=True)
class CatalogCheck:
    """A loaded catalog and what the checks found, kept per session for the Data tab.

    Attributes:
        catalog: The working catalog (absolute ``file_loc``).
        report: zoobot's ``CatalogReport`` for it.
    """

    catalog: pd.DataFrame
    report: Any


@dataclass
class Engine:
    """The app's state, shared by every browser session.

    Args:
        store: Where sessions and runs live.
        manager: Runs the background jobs.
        hosted: Hosted mode: uploads only, no server-side paths, file_loc kept inside uploads.
        limits: Caps on uploads.
    """

    store: RunStore
    manager: JobManager
    hosted: bool = False
    limits: UploadLimits = field(default_factory=UploadLimits)
    _checks: dict[str, CatalogCheck] = field(default_factory=dict, repr=False)
    _label_reports: dict[str, Any] = field(default_factory=dict, repr=False)
    _devices_known: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- state -------------------------------------------------------------------------------

    def state(self, session_id: str) -> SessionState:
        """The session's saved choices."""
        return self.store.load_state(session_id)

    def catalog(self, session_id: str) -> pd.DataFrame:
        """The session's working catalog.

        Raises:
            AppInputError: If no catalog has been loaded yet.
        """
        check = self._checks.get(session_id)
        if check is not None:
            return check.catalog
        path = self.state(session_id).catalog_path
        if not path or not Path(path).is_file():
            raise AppInputError("No catalog loaded yet: load the demo survey or upload a catalog on the Data tab.")
        return pd.read_parquet(path)

    def check(self, session_id: str) -> CatalogCheck | None:
        """The last catalog check of this session (``None`` before a catalog is loaded)."""
        return self._checks.get(session_id)

    # --- catalogs ----------------------------------------------------------------------------

    def submit_catalog(self, session_id: str, name: str,
                       source: Callable[[JobContext], tuple[pd.DataFrame, Path]],
                       upload_root: Path | None = None) -> Job:
        """Load a catalog in the background: read it, resolve ``file_loc``, check every image.

        Args:
            session_id: The browser session.
            name: What to call the catalog on the page.
            source: Returns ``(catalog, base_dir)``; relative ``file_loc`` resolve against
                ``base_dir``.
            upload_root: Hosted mode: the folder every ``file_loc`` must stay inside.
        """
        self.store.session_dir(session_id)

        def job(ctx: JobContext) -> CatalogCheck:
            from zoobot.catalog import resolve_file_locs

            catalog, base_dir = source(ctx)
            ctx.report("Resolving image paths")
            if "file_loc" not in catalog.columns:
                raise UploadError("The catalog has no file_loc column: add one giving each galaxy's image file "
                                  "(a path relative to the catalog, e.g. images/galaxy_001.png).")
            catalog = resolve_file_locs(catalog, base_dir=base_dir)
            if self.hosted and upload_root is not None:
                check_inside(catalog["file_loc"].astype(str), upload_root)
            return self._check_and_keep(session_id, ctx, catalog, name)

        return self.manager.submit("catalog", session_id, job, lane="data")

    def _check_and_keep(self, session_id: str, ctx: JobContext, catalog: pd.DataFrame, name: str) -> CatalogCheck:
        from zoobot.catalog import validate_catalog

        ctx.report(f"Checking {len(catalog)} images")
        report = validate_catalog(catalog, check_images=True, raise_on_error=False)
        path = self.store.session_dir(session_id) / "catalog.parquet"
        catalog.to_parquet(path, index=False)
        self.store.update_state(session_id, catalog_path=str(path), catalog_name=name)
        check = CatalogCheck(catalog=catalog, report=report)
        self._checks[session_id] = check
        return check

    def submit_fix(self, session_id: str, problem: Any, fix: str | None = None) -> Job:
        """Apply a problem's one-click fix (``fix``, default the suggested one) to the working
        catalog, then check it again."""
        catalog = self.catalog(session_id)
        name = self.state(session_id).catalog_name or "catalog"

        def job(ctx: JobContext) -> CatalogCheck:
            from zoobot.catalog import apply_fix

            ctx.report("Applying the fix")
            return self._check_and_keep(session_id, ctx, apply_fix(catalog, problem, fix), name)

        return self.manager.submit("catalog", session_id, job, lane="data")

    def replace_catalog(self, session_id: str, catalog: pd.DataFrame) -> None:
        """Save a changed working catalog (e.g. after a label fix), keeping the last image check."""
        path = self.store.session_dir(session_id) / "catalog.parquet"
        catalog.to_parquet(path, index=False)
        previous = self._checks.get(session_id)
        if previous is not None:
            self._checks[session_id] = CatalogCheck(catalog=catalog, report=previous.report)
        self.store.update_state(session_id, catalog_path=str(path))

    def schema(self, session_id: str) -> Any:
        """The session's decision tree (named or written in the editor), or ``None``.

        Raises:
            SchemaError: If the saved custom schema no longer parses.
        """
        from zoobot.schemas import Schema
        from zoobot.trees import get_schema

        state = self.state(session_id)
        if state.schema_name:
            return get_schema(state.schema_name)
        if state.schema_yaml:
            return Schema.from_yaml(state.schema_yaml)
        return None

    def check_labels(self, session_id: str, task: str, label_cols: list[str]) -> Any:
        """Check the chosen target columns for ``task`` (no image reads); returns the report."""
        from zoobot.catalog import validate_catalog

        catalog = self.catalog(session_id)
        schema = self.schema(session_id) if task == "tree" else None
        report = validate_catalog(catalog, label_cols=label_cols, task=task, schema=schema, check_images=False,
                                  raise_on_error=False)
        self._label_reports[session_id] = report
        return report

    def label_report(self, session_id: str) -> Any:
        """The last label check of this session, or ``None``."""
        return self._label_reports.get(session_id)

    def demo_source(self) -> Callable[[JobContext], tuple[pd.DataFrame, Path]]:
        """A catalog source for the built-in demo survey, generated once into the cache."""
        folder = self.store.cache_dir(f"demo_survey_{DEMO_SURVEY_SIZE}_{DEMO_IMAGE_SIZE}")

        def source(ctx: JobContext) -> tuple[pd.DataFrame, Path]:
            from zoobot.catalog import read_catalog
            from zoobot.survey import make_survey

            done_marker = folder / ".complete"
            with self._lock:  # two sessions asking at once generate it once
                if not done_marker.is_file():
                    ctx.report(f"Drawing {DEMO_SURVEY_SIZE} synthetic galaxies (once; later loads reuse them)")

                    def progress(done: int, total: int, *args: Any) -> None:
                        ctx.report(f"Drawing synthetic galaxies: {done} of {total}")

                    make_survey(DEMO_SURVEY_SIZE, size=DEMO_IMAGE_SIZE, out_dir=folder, seed=DEMO_SEED, overwrite=True,
                                progress=progress)
                    done_marker.write_text("ok")
            return read_catalog(folder / "catalog.csv"), folder

        return source

    @staticmethod
    def file_source(catalog_path: Path, base_dirs: tuple[Path, ...]) -> Callable[[JobContext], tuple[pd.DataFrame, Path]]:
        """A catalog source for a catalog file, its ``file_loc`` relative to the likeliest base dir."""

        def source(ctx: JobContext) -> tuple[pd.DataFrame, Path]:
            from zoobot.catalog import read_catalog

            ctx.report(f"Reading {catalog_path.name}")
            catalog = read_catalog(catalog_path)
            if "file_loc" in catalog.columns:
                base = pick_base_dir(list(catalog["file_loc"].astype(str)), list(base_dirs))
            else:
                base = base_dirs[0]
            return catalog, base

        return source

    @staticmethod
    def upload_source(upload: StoredUpload) -> Callable[[JobContext], tuple[pd.DataFrame, Path]]:
        """A catalog source for an upload: each ``file_loc`` is matched to the uploaded image it names,
        by its path inside the upload or, when that differs, by file name (see ``match_uploaded_files``)."""
        base_source = Engine.file_source(upload.catalog, upload.base_dirs)

        def source(ctx: JobContext) -> tuple[pd.DataFrame, Path]:
            catalog, base = base_source(ctx)
            if "file_loc" in catalog.columns:
                ctx.report("Matching file_loc to the uploaded images")
                catalog = catalog.assign(file_loc=match_uploaded_files(list(catalog["file_loc"]), upload.folder, base))
            return catalog, base

        return source

    # --- training ----------------------------------------------------------------------------

    def _ensure_device_count(self) -> int:
        """Learn how many GPUs there are (imports torch, so only when training first starts)."""
        import torch

        n = torch.cuda.device_count()
        if not self._devices_known:
            self.manager.set_capacity("train", max(1, n))
            self._devices_known = True
        return n

    def submit_training(self, session_id: str, config: Any) -> Job:
        """Queue ``zoobot.config.run_finetune(config)``; one run per device at a time."""
        n_gpus = self._ensure_device_count()

        def job(ctx: JobContext) -> Any:
            from zoobot.config import run_finetune

            if n_gpus:
                return run_finetune(config, accelerator="gpu", devices=[ctx.slot], stop_event=ctx.stop_event)
            return run_finetune(config, accelerator="cpu", devices=1, stop_event=ctx.stop_event)

        self.store.update_state(session_id, run_dir=str(config.run_dir))
        return self.manager.submit("train", session_id, job, lane="train", run_dir=str(config.run_dir))

    # --- maps --------------------------------------------------------------------------------

    def submit_map(self, session_id: str, encoder: str | None, run_dir: str | None) -> Job:
        """Compute representations and a 2-D UMAP map of the working catalog in the background.

        Args:
            session_id: The browser session.
            encoder: Pretrained encoder name/source (the map before finetuning), or ``None``.
            run_dir: A finished run whose finetuned encoder to use instead.
        """
        catalog = self.catalog(session_id)
        map_dir = self.store.new_map_dir(session_id)

        def job(ctx: JobContext) -> Path:
            from zoobot.representations import compute_umap, get_representations

            if run_dir is not None:
                from zoobot.config import load_run_model

                ctx.report("Loading the finetuned model")
                model: Any = load_run_model(run_dir)
            else:
                model = encoder
            ctx.report(f"Computing representations of {len(catalog)} galaxies")
            features = get_representations(catalog, model)
            feature_cols = [c for c in features.columns if c != "id_str"]
            ctx.report("Drawing the UMAP map")
            coords = compute_umap(features[feature_cols].to_numpy())
            features.insert(1, "umap_x", coords[:, 0])
            features.insert(2, "umap_y", coords[:, 1])
            features.to_parquet(map_dir / "map.parquet", index=False)
            (map_dir / "source.txt").write_text(f"finetuned model of run {Path(run_dir).name}" if run_dir
                                                else f"pretrained encoder {encoder}")
            self.store.update_state(session_id, map_dir=str(map_dir))
            return map_dir

        return self.manager.submit("umap", session_id, job, lane="explore", run_dir=str(map_dir))
