"""Read catalogs (one row per galaxy: ``id_str``, ``file_loc``, labels) and check them before training.

``validate_catalog`` returns a :class:`CatalogReport` listing every problem in plain words, with the
rows affected and, where one exists, a fix that :func:`apply_fix` applies. Problems that would
silently corrupt training (NaN or negative vote counts, one-class labels, missing images) are errors.

One module per step: :mod:`~zoobot.catalog.reading` (files and paths), :mod:`~zoobot.catalog.validation`
(the checks; the label checks per task in :mod:`~zoobot.catalog.labels`), :mod:`~zoobot.catalog.fixes`
(what :func:`apply_fix` does),
:mod:`~zoobot.catalog.report` (the report, its problems and :class:`CatalogError`) and
:mod:`~zoobot.catalog.template` (a template catalog to start from: :func:`write_template_catalog`).
"""

from __future__ import annotations

from zoobot.catalog.fixes import FIXES, apply_fix, class_numbers
from zoobot.catalog.labels import FEW_LABELLED, MAX_CLASSES, MAX_LISTED_CLASSES
from zoobot.catalog.reading import check_file_locs_resolved, read_catalog, resolve_file_locs
from zoobot.catalog.report import CatalogError, CatalogProblem, CatalogReport, Severity
from zoobot.catalog.template import (
    TEMPLATE_COLUMNS,
    describe_template_columns,
    template_catalog,
    write_template_catalog,
)
from zoobot.catalog.validation import Task, validate_catalog

__all__ = [
    "CatalogError",
    "CatalogProblem",
    "CatalogReport",
    "FIXES",
    "check_file_locs_resolved",
    "read_catalog",
    "resolve_file_locs",
    "validate_catalog",
    "apply_fix",
    "class_numbers",
    "FEW_LABELLED",
    "MAX_CLASSES",
    "MAX_LISTED_CLASSES",
    "Severity",
    "Task",
    "TEMPLATE_COLUMNS",
    "describe_template_columns",
    "template_catalog",
    "write_template_catalog",
]
