"""The engine's core: :class:`Engine`, the app's state (runs folder, job manager, limits), and the
session's working catalog: loading it as a job, checking it, fixing it, checking its labels.

The engine applies :class:`~app.limits.Limits`: it caps the job manager's queues, and passes the
caps on rows, image pixels, classes and schema size to every check it runs."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from app.engine.columns import ColumnsNeeded
from app.engine.sources import DEMO_IMAGE_SIZE, DEMO_SURVEY_SIZE, CatalogSource, demo_source
from app.jobs import Job, JobContext, JobLimitError, JobManager
from app.limits import Limits
from app.runs import RunStore, SessionState
from app.upload_paths import check_inside
from app.uploads import UploadError
from zoobot.runs import atomic_path

DEMO_NAME = "demo survey"
"""What the demo survey is called on the page."""
CHECK_LANES = ("data", "explore")
"""Lanes of CPU work besides training: each runs up to two jobs at once (one per core on a 2-core
Space), the free slot going to a session with none running there."""
_MODE_DEFAULTS = Limits()
""":attr:`Engine.limits` when none is given: replaced on creation by the mode's defaults."""


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
        manager: Runs the background jobs (its queues are capped here from ``limits``).
        hosted: Hosted mode: uploads only, no server-side paths, file_loc kept inside uploads.
        limits: What one session, and all together, may use (default: the mode's defaults).
        demo_survey: The demo survey's number of galaxies and image side in pixels.
    """

    store: RunStore
    manager: JobManager
    hosted: bool = False
    limits: Limits = _MODE_DEFAULTS
    demo_survey: tuple[int, int] = (DEMO_SURVEY_SIZE, DEMO_IMAGE_SIZE)
    _checks: dict[str, CatalogCheck] = field(default_factory=dict, repr=False)
    _label_reports: dict[str, Any] = field(default_factory=dict, repr=False)
    _sources: dict[str, tuple[str, CatalogSource, Path | None]] = field(default_factory=dict, repr=False)
    _columns_needed: dict[str, ColumnsNeeded] = field(default_factory=dict, repr=False)
    _devices_known: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.limits is _MODE_DEFAULTS or self.limits is None:  # None: from a caller without type checks
            self.limits = Limits.from_options(self.hosted)
        limits = self.limits
        self.manager.set_limits(
            per_owner=limits.jobs_per_session,
            queued=limits.queued_jobs,
            queued_per_lane={"train": limits.queued_runs} if limits.queued_runs else None,
        )
        for lane in CHECK_LANES:
            self.manager.set_capacity(lane, max(1, min(2, os.cpu_count() or 1)))

    def forget(self, session_id: str) -> None:
        """Drop what the engine keeps in memory of a session (its files are gone)."""
        self.forget_catalog(session_id)
        self.manager.forget(session_id)

    def forget_catalog(self, session_id: str) -> None:
        """Drop the session's catalog checks kept in memory (its catalog was deleted)."""
        self._checks.pop(session_id, None)
        self._label_reports.pop(session_id, None)

    def upload_room_mb(self, session_id: str) -> float | None:
        """Megabytes the session may still upload (``None``: no per-session cap)."""
        if self.limits.session_mb is None:
            return None
        return self.limits.session_mb - self.store.uploads_bytes(session_id) / 1e6

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
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise AppInputError(
                "The saved copy of your catalog is damaged; load the catalog again on the Data tab."
            ) from err

    def check(self, session_id: str) -> CatalogCheck | None:
        """The last catalog check of this session (``None`` before a catalog is loaded)."""
        return self._checks.get(session_id)

    # --- catalogs ----------------------------------------------------------------------------

    def submit_catalog(
        self,
        session_id: str,
        name: str,
        source: CatalogSource,
        upload_root: Path | None = None,
        columns: dict[str, str | None] | None = None,
        demo: bool = False,
    ) -> Job:
        """Load a catalog in the background: read it, resolve ``file_loc``, check every image.

        Args:
            session_id: The browser session.
            name: What to call the catalog on the page.
            source: Returns ``(catalog, base_dir)`` (see ``app.sources``); relative ``file_loc``
                resolve against ``base_dir``.
            upload_root: Hosted mode: the folder every ``file_loc`` must stay inside.
            columns: The user's picks for a catalog without ``file_loc`` (see :func:`map_columns`); the job
                fails with :class:`ColumnsNeeded` when they are needed and missing.
            demo: The source is the demo survey (see :meth:`submit_demo`); any other catalog asked for replaces
                a demo still pending.
        """
        self.store.session_dir(session_id)
        if demo or self.state(session_id).demo_pending:
            self.store.update_state(session_id, demo_pending=demo)
        self._sources[session_id] = (name, source, upload_root)
        self._columns_needed.pop(session_id, None)

        def job(ctx: JobContext) -> CatalogCheck:
            try:
                return load(ctx)
            finally:  # ended (loaded or failed): nothing to pick up again; an app stopped mid-way skips this
                if demo:
                    self.store.update_state(session_id, demo_pending=False)

        def load(ctx: JobContext) -> CatalogCheck:
            from zoobot.catalog import resolve_file_locs

            try:
                catalog, base_dir = source(ctx, columns)
            except ColumnsNeeded as err:  # the Data tab offers the columns to pick
                self._columns_needed[session_id] = err
                raise
            rows = self.limits.catalog_rows
            if rows is not None and len(catalog) > rows:
                raise UploadError(
                    self.limits.refusal(
                        f"The catalog has {len(catalog):,} rows; at most {rows:,} are "
                        "checked here. Split it, or use a part of it."
                    )
                )
            ctx.report("Resolving image paths")
            catalog = resolve_file_locs(catalog, base_dir=base_dir)
            if self.hosted and upload_root is not None:
                filled = catalog["file_loc"][catalog["file_loc"].map(_is_path_text)]
                check_inside(filled.astype(str), upload_root)
            return self._check_and_keep(session_id, ctx, catalog, name)

        try:
            return self.manager.submit("catalog", session_id, job, lane="data")
        except JobLimitError:
            if demo:  # refused: there is nothing to pick up again
                self.store.update_state(session_id, demo_pending=False)
            raise

    def _check_and_keep(self, session_id: str, ctx: JobContext, catalog: pd.DataFrame, name: str) -> CatalogCheck:
        from zoobot.catalog import validate_catalog

        ctx.report(f"Checking {len(catalog)} images")
        report = validate_catalog(catalog, check_images=True, raise_on_error=False, max_pixels=self.limits.image_pixels)
        path = self.store.catalog_path(session_id)
        _write_parquet(catalog, path)
        self.store.update_state(session_id, catalog_path=str(path), catalog_name=name)
        check = CatalogCheck(catalog=catalog, report=report)
        self._checks[session_id] = check
        return check

    def columns_needed(self, session_id: str) -> ColumnsNeeded | None:
        """Why the session's last catalog needs its columns picked (``None``: it does not)."""
        return self._columns_needed.get(session_id)

    def submit_mapped(self, session_id: str, columns: dict[str, str | None]) -> Job:
        """Load the session's last catalog again with the columns the user picked.

        Raises:
            AppInputError: No catalog was loaded in this app process (load it again).
        """
        if session_id not in self._sources:
            raise AppInputError("Load the catalog again (the app restarted since), then pick its columns.")
        name, source, upload_root = self._sources[session_id]
        return self.submit_catalog(session_id, name, source, upload_root, columns=columns)

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
        path = self.store.catalog_path(session_id)
        _write_parquet(catalog, path)
        previous = self._checks.get(session_id)
        if previous is not None:
            self._checks[session_id] = CatalogCheck(catalog=catalog, report=previous.report)
        self.store.update_state(session_id, catalog_path=str(path))

    def schema(self, session_id: str) -> Any:
        """The session's decision tree (named or written in the editor), or ``None``.

        Raises:
            SchemaError: If the saved custom schema no longer parses.
        """
        from zoobot.trees import get_schema

        state = self.state(session_id)
        if state.schema_name:
            return get_schema(state.schema_name)
        if state.schema_yaml:
            return self.parse_schema(state.schema_yaml)
        return None

    def parse_schema(self, text: str) -> Any:
        """A :class:`~zoobot.schemas.Schema` from YAML, within the limits on its size and questions (checked
        before parsing and building, so a huge paste is refused at once).

        Raises:
            SchemaError: The text is over a limit, or not a valid tree.
        """
        from zoobot.schemas import MAX_QUESTIONS, Schema, SchemaError

        try:
            return Schema.from_yaml(
                text, max_chars=self.limits.schema_chars, max_questions=self.limits.schema_questions or MAX_QUESTIONS
            )
        except SchemaError as err:
            if "at most" in str(err) and self.limits.hosted_mode:
                raise SchemaError(self.limits.refusal(str(err))) from err
            raise

    def check_labels(self, session_id: str, task: str, label_cols: list[str]) -> Any:
        """Check the chosen target columns for ``task`` (no image reads); returns the report."""
        from zoobot.catalog import MAX_CLASSES, validate_catalog
        from zoobot.tasks import Task

        catalog = self.catalog(session_id)
        schema = self.schema(session_id) if task == "tree" else None
        report = validate_catalog(
            catalog,
            label_cols=label_cols,
            task=cast(Task, task),  # validate_catalog refuses any other
            schema=schema,
            check_images=False,
            raise_on_error=False,
            max_classes=self.limits.classes or MAX_CLASSES,
        )
        self._label_reports[session_id] = report
        return report

    def label_report(self, session_id: str) -> Any:
        """The last label check of this session, or ``None``."""
        return self._label_reports.get(session_id)

    def submit_demo(self, session_id: str) -> Job:
        """Load the built-in demo survey, drawn first into the shared cache if it is not there yet (see
        ``app.engine.sources.demo_source``).

        The session keeps ``demo_pending`` until the job has ended, so a page reloaded, or opened after the app
        stopped mid-drawing, picks the loading up again (the Data tab's ``restore_catalog``).
        """
        n, size = self.demo_survey
        source = demo_source(self.store.cache_dir(f"demo_survey_{n}_{size}"), self._lock, n, size)
        return self.submit_catalog(session_id, DEMO_NAME, source, demo=True)

    def gpu_count(self) -> int:
        """How many GPUs there are; the first call lets the train lane run one job per GPU (the library
        imports torch to count them, so this waits until training first starts)."""
        from zoobot.devices import gpu_count

        n = gpu_count()
        if not self._devices_known:
            self.manager.set_capacity("train", max(1, n))
            self._devices_known = True
        return n


def _is_path_text(loc: Any) -> bool:
    """Whether a ``file_loc`` cell holds a path (blank cells are left for the check to report)."""
    return isinstance(loc, str) and bool(loc.strip())


def _write_parquet(catalog: pd.DataFrame, path: Path) -> None:
    """Write the working catalog atomically: a reload or a crash never finds half of it."""
    with atomic_path(path) as tmp:
        catalog.to_parquet(tmp, index=False)
