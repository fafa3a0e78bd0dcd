"""A template catalog to start from: a few rows showing each kind of column, and what each column means.

``zoobot template-catalog --out my_catalog.csv`` (and the app) write it; replace the rows with your
galaxies and keep the columns your task needs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TEMPLATE_COLUMNS: dict[str, str] = {
    "id_str": "a unique name for each galaxy (text; kept as written, leading zeros too)",
    "file_loc": "the galaxy's image (JPEG, PNG or FITS): a path relative to the catalog file's folder, or absolute",
    "ring": "a class label as a number (0 = no ring, 1 = ring): classification; leave it empty where unknown",
    "bar": "a class label as a name (none / weak / strong): classification; the app numbers names in one click",
    "bulge_to_total": "a number to predict (here a fraction in [0, 1]): regression",
    "smooth-or-featured_smooth": "volunteer vote counts, one column per answer (question_answer): a vote-count tree",
    "smooth-or-featured_featured-or-disk": "votes for the question's second answer",
    "smooth-or-featured_artifact": "votes for its third answer; 0 where nobody chose it",
}
"""Each template column and what it holds, in the order the template writes them."""

_ROWS = [
    ("galaxy_001", "images/galaxy_001.png", 0, "none", 0.62, 31, 8, 1),
    ("galaxy_002", "images/galaxy_002.png", 1, "strong", 0.18, 4, 36, 0),
    ("galaxy_003", "images/galaxy_003.png", 0, "weak", 0.35, 12, 27, 1),
    ("galaxy_004", "images/galaxy_004.png", 1, "none", 0.27, 9, 30, 1),
    ("galaxy_005", "images/galaxy_005.png", None, None, None, None, None, None),  # not labelled yet: predicted
]


def template_catalog() -> pd.DataFrame:
    """The template as a table (:data:`TEMPLATE_COLUMNS`): four labelled galaxies and one not yet labelled,
    which is not trained on and gets a prediction."""
    table = pd.DataFrame(_ROWS, columns=list(TEMPLATE_COLUMNS))
    counts = [c for c in TEMPLATE_COLUMNS if c.startswith("smooth-or-featured_")]
    return table.astype({"ring": "Int64", **dict.fromkeys(counts, "Int64")})


def describe_template_columns() -> str:
    """What each template column means, one line each (``column: meaning``)."""
    return "\n".join(f"{name}: {meaning}" for name, meaning in TEMPLATE_COLUMNS.items())


def write_template_catalog(path: str | Path) -> Path:
    """Write the template catalog as CSV (:func:`template_catalog`) and return its path.

    Keep ``id_str`` and ``file_loc``, the label columns of your task, and delete the rest; put your
    images where ``file_loc`` says (relative to the CSV's folder). Read it with
    :func:`zoobot.catalog.read_catalog`.

    Raises:
        ValueError: ``path`` does not end in ``.csv``.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"The template catalog is a CSV file; give a name ending in .csv, not {path.name}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    template_catalog().to_csv(path, index=False)
    return path
