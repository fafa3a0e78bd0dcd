"""Render the README's grid of synthetic galaxies, one labelled tile per morphology type.

Reproducible: every tile is drawn from its own fixed seed. Run from the repository root::

    python scripts/make_survey_grid.py --out assets/survey_grid.png
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zoobot.survey import GalaxyParams, render_galaxy

TILE = 128
COLUMNS = 6


def _base(morphology: str, **changes: object) -> GalaxyParams:
    """A bright, well-resolved galaxy of the given type, changed as asked."""
    params = GalaxyParams(
        morphology=morphology,
        magnitude=15.6,
        radius=0.1,
        axis_ratio=0.8,
        position_angle=0.6,
        sersic_n=3.0,
        bulge_to_total=0.2,
        bulge_colour=0.85,
        disk_colour=0.35,
    )
    if morphology == "elliptical":
        params = replace(params, bulge_to_total=1.0, sersic_n=4.0, radius=0.09)
    if morphology == "edge_on":
        params = replace(params, axis_ratio=0.13, radius=0.12, bulge_to_total=0.0)
    return replace(params, **changes)


def _spiral(arms: int, winding: str, **changes: object) -> GalaxyParams:
    settings = {"arm_fraction": 0.45, "radius": 0.12, **changes}
    return _base("disk", arm_count=arms, arm_winding=winding, **settings)


TILES: list[tuple[str, GalaxyParams]] = [
    ("elliptical round", _base("elliptical", axis_ratio=0.95)),
    ("elliptical flat", _base("elliptical", axis_ratio=0.5, sersic_n=3.0)),
    ("smooth faint small", _base("elliptical", magnitude=18.0, radius=0.05)),
    ("disk, big bulge", _base("disk", bulge_to_total=0.6, axis_ratio=0.6)),
    ("disk, no bulge", _base("disk", bulge_to_total=0.0, axis_ratio=0.9)),
    ("inclined disk", _base("disk", axis_ratio=0.4, bulge_to_total=0.3)),
    ("spiral 1-arm", _spiral(1, "medium")),
    ("spiral 2-arm tight", _spiral(2, "tight", bulge_to_total=0.3)),
    ("spiral 2-arm medium", _spiral(2, "medium")),
    ("spiral 2-arm loose", _spiral(2, "loose", bulge_to_total=0.1)),
    ("spiral 3-arm", _spiral(3, "medium")),
    ("spiral 4-arm", _spiral(4, "medium")),
    ("spiral >4 arms", _spiral(5, "medium")),
    ("inclined spiral", _spiral(2, "medium", axis_ratio=0.5)),
    ("weak bar", _spiral(2, "medium", bar="weak", bar_fraction=0.06)),
    ("strong bar", _spiral(2, "medium", bar="strong", bar_fraction=0.16)),
    ("barred, no arms", _base("disk", bar="strong", bar_fraction=0.18, bulge_to_total=0.25)),
    ("ring", _base("disk", ring=True, ring_fraction=0.18, ring_radius=1.3, bulge_to_total=0.3)),
    (
        "ring + bar",
        _base(
            "disk", ring=True, ring_fraction=0.15, ring_radius=1.1, bar="strong", bar_fraction=0.15, bulge_to_total=0.25
        ),
    ),
    ("ring + arms", _spiral(2, "tight", ring=True, ring_fraction=0.12, ring_radius=0.9)),
    ("ring lenticular", _base("elliptical", ring=True, ring_fraction=0.12, ring_radius=2.0, bulge_to_total=0.88)),
    ("edge-on, no bulge", _base("edge_on", edge_on_bulge="none")),
    ("edge-on, rounded", _base("edge_on", edge_on_bulge="rounded", bulge_to_total=0.35)),
    ("edge-on, boxy", _base("edge_on", edge_on_bulge="boxy", bulge_to_total=0.25)),
    ("minor disturbance", _spiral(2, "medium", disturbance="minor_disturbance")),
    ("major disturbance", _base("disk", disturbance="major_disturbance", bulge_to_total=0.3)),
    ("merger", _base("elliptical", disturbance="merger", sersic_n=2.5)),
    ("artifact: star", _base("elliptical", artifact="star", magnitude=17.0)),
    ("artifact: trail", _spiral(2, "medium", artifact="trail")),
    ("faint spiral", _spiral(2, "medium", magnitude=17.8, radius=0.08)),
]


def make_grid(seed: int = 0) -> Image.Image:
    """Render every tile in ``TILES`` with its label and arrange them in rows of ``COLUMNS``."""
    rows = -(-len(TILES) // COLUMNS)
    label_height = 16
    grid = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + label_height)), "black")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=12)
    for index, (label, params) in enumerate(TILES):
        rng = np.random.default_rng([seed, index])
        tile = Image.fromarray(render_galaxy(params, TILE, rng))
        left, top = (index % COLUMNS) * TILE, (index // COLUMNS) * (TILE + label_height)
        grid.paste(tile, (left, top + label_height))
        draw.text((left + 3, top + 1), label, fill="white", font=font)
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/survey_grid.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    # a 256-colour palette keeps the README figure under 500 KB with no visible loss
    palette = make_grid(args.seed).quantize(256, method=Image.Quantize.FASTOCTREE)
    palette.save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
