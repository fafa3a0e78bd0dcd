"""What a catalog check finds: :class:`CatalogReport` of :class:`CatalogProblem` s, and :class:`CatalogError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["error", "warning"]

_N_EXAMPLES = 5


class CatalogError(ValueError):
    """A catalog that cannot be used as it is. ``.report`` holds the full :class:`CatalogReport`."""

    def __init__(self, message: str, report: CatalogReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong with a catalog.

    Attributes:
        code: short stable name, e.g. ``'nan_votes'``.
        severity: ``'error'`` (cannot train) or ``'warning'`` (can train; worth knowing).
        message: plain-words explanation and what to do.
        rows: index labels of the affected rows (empty when the whole catalog is affected).
        columns: affected columns.
        fixes: fix ids :func:`apply_fix` can apply, first is the suggested one (may be empty).
    """

    code: str
    severity: Severity
    message: str
    rows: tuple[Any, ...] = ()
    columns: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()

    @property
    def fix(self) -> str | None:
        """The suggested fix id, or None."""
        return self.fixes[0] if self.fixes else None


@dataclass
class CatalogReport:
    """What :func:`validate_catalog` found."""

    n_rows: int = 0
    n_labelled: int = 0
    n_images_found: int = 0
    n_images_missing: int = 0
    n_images_unreadable: int = 0
    missing_examples: list[str] = field(default_factory=list)
    unreadable_examples: list[str] = field(default_factory=list)
    label_distribution: dict[str, Any] = field(default_factory=dict)
    problems: list[CatalogProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[CatalogProblem]:
        """Problems that stop training."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[CatalogProblem]:
        """Problems worth knowing that do not stop training."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def summary(self) -> str:
        """A few plain-words lines for a person."""
        lines = [f"{self.n_rows} rows, {self.n_labelled} labelled."]
        if self.n_images_found or self.n_images_missing or self.n_images_unreadable:
            lines.append(
                f"Images: {self.n_images_found} found, {self.n_images_missing} missing, "
                f"{self.n_images_unreadable} unreadable."
            )
        lines += [f"{p.severity.upper()}: {p.message}" for p in self.problems]
        if not self.problems:
            lines.append("No problems found.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (rows of each problem reduced to a count and a few examples)."""
        return {
            "n_rows": self.n_rows,
            "n_labelled": self.n_labelled,
            "n_images_found": self.n_images_found,
            "n_images_missing": self.n_images_missing,
            "n_images_unreadable": self.n_images_unreadable,
            "missing_examples": list(self.missing_examples),
            "unreadable_examples": list(self.unreadable_examples),
            "label_distribution": self.label_distribution,
            "problems": [
                {
                    "code": p.code,
                    "severity": p.severity,
                    "message": p.message,
                    "n_rows": len(p.rows),
                    "example_rows": [str(r) for r in p.rows[:_N_EXAMPLES]],
                    "columns": list(p.columns),
                    "fixes": list(p.fixes),
                }
                for p in self.problems
            ],
        }


def _rows_text(rows: Sequence[Any], catalog: pd.DataFrame) -> str:
    """'3 rows (e.g. id_str gal_1, gal_7)' style text."""
    n = len(rows)
    noun = "row" if n == 1 else "rows"
    examples = rows[:3]
    if "id_str" in catalog.columns:
        shown = ", ".join(str(catalog.at[r, "id_str"]) for r in examples)
        return f"{n} {noun} (e.g. id_str {shown})"
    return f"{n} {noun} (e.g. rows {', '.join(str(r) for r in examples)})"
