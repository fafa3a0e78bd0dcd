"""The registry of named trees: :func:`get_schema`, :func:`list_schemas`, :func:`describe_schema`,
:func:`detect_schema`. A tree is built into a :class:`~zoobot.schemas.Schema` when first asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from zoobot.schemas import Schema, SchemaError


@dataclass(frozen=True)
class _Tree:
    """A named tree: the Zoobot name of its two dicts in :mod:`zoobot.trees` (``<dicts>_pairs`` and
    ``<dicts>_dependencies``) and a one-line description."""

    dicts: str
    description: str
    dependencies: str | None = None  # the dependencies' name where campaigns share one dict (DECaLS, as in Zoobot)

    def build(self) -> Schema:
        import zoobot.trees as trees  # the package that imports this module

        pairs = getattr(trees, f"{self.dicts}_pairs")
        dependencies = getattr(trees, f"{self.dependencies or self.dicts}_dependencies")
        return Schema(pairs, dependencies)


# Order matters only where two trees have identical columns (detect_schema picks the first).
_TREES: dict[str, _Tree] = {
    "gz2": _Tree("gz2_ortho", "Galaxy Zoo 2 (SDSS); questions end in -gz2"),
    "gz2_unsuffixed": _Tree("gz2", "Galaxy Zoo 2 (SDSS) without the -gz2 suffix"),
    "decals_dr5": _Tree("decals_dr5_ortho", "Galaxy Zoo DECaLS, GZD-5 campaign; questions end in -dr5", "decals_ortho"),
    "decals_dr8": _Tree(
        "decals_dr8_ortho",
        "Galaxy Zoo DECaLS, GZD-8 campaign (same tree as DR5); questions end in -dr8",
        "decals_ortho",
    ),
    "decals_dr12": _Tree(
        "decals_dr12_ortho", "Galaxy Zoo DECaLS, GZD-1/2 campaigns; questions end in -dr12", "decals_ortho"
    ),
    "decals_all_campaigns": _Tree(
        "decals_all_campaigns_ortho", "Galaxy Zoo DECaLS, DR1/2, DR5 and DR8 campaigns side by side", "decals_ortho"
    ),
    "desi": _Tree("desi", "Galaxy Zoo DESI / DECaLS DR5-DR8 tree without campaign suffix"),
    "gz_candels": _Tree("candels_ortho", "Galaxy Zoo CANDELS (HST); questions end in -candels"),
    "gz_hubble": _Tree("hubble_ortho", "Galaxy Zoo Hubble (HST); questions end in -hubble"),
    "gz_hubble_v2": _Tree(
        "hubble_v2_ortho",
        "Galaxy Zoo Hubble (HST) without the clump questions (version 2, as in GZ Evo v2); questions end in -hubble",
    ),
    "cosmic_dawn": _Tree("cosmic_dawn_ortho", "Galaxy Zoo Cosmic Dawn (HSC); questions end in -cd"),
    "cosmic_dawn_unsuffixed": _Tree("cosmic_dawn", "Galaxy Zoo Cosmic Dawn (HSC) without the -cd suffix"),
    "gz_rings": _Tree("rings", "Galaxy Zoo Rings: one yes/no question"),
    "gz_ukidss": _Tree("ukidss_ortho", "Galaxy Zoo UKIDSS (GZ2 tree); questions end in -ukidss"),
    "euclid": _Tree("euclid_ortho", "Galaxy Zoo Euclid; questions end in -euclid"),
    "euclid_unsuffixed": _Tree("euclid", "Galaxy Zoo Euclid without the -euclid suffix"),
    "jwst": _Tree("jwst_ortho", "Galaxy Zoo JWST (CEERS); questions end in -jwst"),
    "gz_evo": _Tree(
        "gz_evo_v1", "GZ Evo v1: DECaLS, GZ2, CANDELS, Hubble and Cosmic Dawn side by side (Zoobot 2.x pretraining)"
    ),
    "gz_evo_v1_public": _Tree(
        "gz_evo_v1_public", "GZ Evo v1 without Cosmic Dawn (the campaigns whose votes are public)"
    ),
    "gz_evo_v2": _Tree(
        "gz_evo_v2",
        "GZ Evo v2: DECaLS, GZ2, CANDELS, Hubble v2, Cosmic Dawn and Euclid side by side (Zoobot 2.9 pretraining)",
    ),
    "gz_evo_v2_public": _Tree(
        "gz_evo_v2_public", "GZ Evo v2 without Cosmic Dawn and Euclid (the campaigns whose votes are public)"
    ),
}

# Other names users know: Zoobot 2.x schema names (without "_schema") and survey nicknames.
_ALIASES: dict[str, str] = {
    "decals_unsuffixed": "desi",
    "gz_desi": "desi",
    "decals_dr5_ortho": "decals_dr5",
    "decals_dr8_ortho": "decals_dr8",
    "decals_dr12_ortho": "decals_dr12",
    "decals_all_campaigns_ortho": "decals_all_campaigns",
    "gz2_ortho": "gz2",
    "gz_candels_ortho": "gz_candels",
    "candels": "gz_candels",
    "gz_hubble_ortho": "gz_hubble",
    "hubble": "gz_hubble",
    "cosmic_dawn_ortho": "cosmic_dawn",
    "hsc": "cosmic_dawn",
    "rings": "gz_rings",
    "ukidss": "gz_ukidss",
    "euclid_ortho": "euclid",
    "gz_euclid": "euclid",
    "gz_jwst": "jwst",
    "ceers": "jwst",
    "gz_evo_v1": "gz_evo",
    "gz_hubble_v2_ortho": "gz_hubble_v2",
    "hubble_v2": "gz_hubble_v2",
    "jwst_ortho": "jwst",
}


def list_schemas() -> list[str]:
    """Names of the built-in Galaxy Zoo trees, for :func:`get_schema`."""
    return list(_TREES)


def _resolve(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
    if key not in _TREES:
        raise SchemaError(
            f"Unknown schema {name!r}. Known schemas: {', '.join(_TREES)}. "
            "For your own tree, write a YAML file and load it with Schema.from_yaml."
        )
    return key


@cache
def _build(name: str) -> Schema:
    return _TREES[name].build()


def get_schema(name: str) -> Schema:
    """The named Galaxy Zoo tree, e.g. ``get_schema('decals_dr5')``.

    Names come from :func:`list_schemas`; Zoobot 2.x names such as ``'decals_dr5_ortho'`` work too.
    The schema is built on first request and shared afterwards (schemas are immutable).

    Raises:
        SchemaError: unknown name; the message lists the known names.
    """
    return _build(_resolve(name))


def describe_schema(name: str, with_size: bool = True) -> str:
    """A one-line description of a named tree, for menus and the command line.

    Args:
        name: a name from :func:`list_schemas` (or a Zoobot 2.x alias).
        with_size: add the number of questions and answers (builds the tree).

    Raises:
        SchemaError: unknown name.
    """
    key = _resolve(name)
    if not with_size:
        return _TREES[key].description
    schema = get_schema(key)
    return f"{_TREES[key].description} ({len(schema.questions)} questions, {len(schema.answers)} answers)"


def detect_schema(columns: Iterable[str]) -> str | None:
    """The named tree whose answer columns all appear in ``columns``, or None.

    Where several match (e.g. a GZ Evo catalog also holds every DECaLS DR5 column), the tree with
    the most answers wins, so the most complete description of the catalog is chosen.

    Args:
        columns: e.g. a catalog's column names (vote-count columns are the answer columns).
    """
    present = set(columns)
    best: str | None = None
    best_size = 0
    for name in _TREES:
        schema = get_schema(name)
        if len(schema.answers) > best_size and not schema.validate_columns(present):
            best, best_size = name, len(schema.answers)
    return best
