"""The true morphology of a synthetic galaxy (:class:`GalaxyParams`) and the survey's population
(:func:`sample_morphology`).

Sizes are fractions of the image width, so the same galaxy looks the same at 64 or 256 pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Literal, cast

import numpy as np

from zoobot.survey.errors import SurveyError

Morphology = Literal["elliptical", "disk", "edge_on"]
BarStrength = Literal["none", "weak", "strong"]
Winding = Literal["none", "tight", "medium", "loose"]
EdgeOnBulge = Literal["none", "rounded", "boxy"]
Disturbance = Literal["none", "minor_disturbance", "major_disturbance", "merger"]
Artifact = Literal["none", "star", "trail"]

BAR_LABELS: tuple[str, ...] = ("none", "weak", "strong")
"""The ``bar`` target's classes, in the order of its integer codes 0, 1, 2."""

_REFERENCE_SIZE = 128  # surface brightness per pixel is defined at this image size


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class GalaxyParams:
    """The true morphology of one synthetic galaxy.

    Attributes:
        morphology: ``'elliptical'`` (smooth Sérsic), ``'disk'`` (face-on to inclined disk) or
            ``'edge_on'`` (disk seen edge-on).
        magnitude: total r-band apparent magnitude (brighter galaxies are easier to classify).
        radius: half-light radius of the main body, as a fraction of the image width.
        axis_ratio: projected minor/major axis ratio b/a of the main body, in (0, 1].
        position_angle: orientation of the major axis, radians anticlockwise from the x axis.
        sersic_n: Sérsic index of the bulge (or of the whole elliptical).
        bulge_to_total: r-band flux of the bulge over the galaxy's total r-band flux.
        bulge_colour: g-r colour of the bulge in magnitudes (red, ~0.8).
        disk_colour: g-r colour of the disk, arms and ring in magnitudes (blue, ~0.4).
        bar: bar strength.
        bar_fraction: r-band flux fraction in the bar (0 without a bar).
        arm_count: number of spiral arms, 0 for none; 5 stands for "more than 4".
        arm_winding: how tightly the arms wind (``'none'`` without arms).
        arm_fraction: r-band flux fraction in the spiral arms (0 without arms).
        ring: whether the galaxy has a ring.
        ring_fraction: r-band flux fraction in the ring (0 without a ring).
        ring_radius: ring radius in units of ``radius`` (in the disk plane).
        edge_on_bulge: bulge shape of an edge-on disk (``'none'`` otherwise).
        disturbance: tidal disturbance or merger state.
        artifact: an image artifact overlaid on the cutout.
    """

    morphology: Morphology
    magnitude: float
    radius: float
    axis_ratio: float
    position_angle: float
    sersic_n: float
    bulge_to_total: float
    bulge_colour: float
    disk_colour: float
    bar: BarStrength = "none"
    bar_fraction: float = 0.0
    arm_count: int = 0
    arm_winding: Winding = "none"
    arm_fraction: float = 0.0
    ring: bool = False
    ring_fraction: float = 0.0
    ring_radius: float = 1.5
    edge_on_bulge: EdgeOnBulge = "none"
    disturbance: Disturbance = "none"
    artifact: Artifact = "none"

    def __post_init__(self) -> None:
        problems = []
        choices = {
            "morphology": ("elliptical", "disk", "edge_on"),
            "bar": BAR_LABELS,
            "arm_winding": ("none", "tight", "medium", "loose"),
            "edge_on_bulge": ("none", "rounded", "boxy"),
            "disturbance": ("none", "minor_disturbance", "major_disturbance", "merger"),
            "artifact": ("none", "star", "trail"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if not 0 < self.axis_ratio <= 1:
            problems.append(f"axis_ratio must be in (0, 1], got {self.axis_ratio}")
        if not 0 < self.radius <= 0.5:
            problems.append(f"radius must be in (0, 0.5] image widths, got {self.radius}")
        if self.sersic_n <= 0:
            problems.append(f"sersic_n must be positive, got {self.sersic_n}")
        if self.arm_count not in range(6):
            problems.append(f"arm_count must be 0-5 (5 = more than 4), got {self.arm_count}")
        if (self.arm_count > 0) != (self.arm_winding != "none"):
            problems.append("arm_winding must be 'none' exactly when arm_count is 0")
        fractions = (self.bulge_to_total, self.bar_fraction, self.arm_fraction, self.ring_fraction)
        if min(fractions) < 0 or sum(fractions) > 1 + 1e-9:
            problems.append(
                "bulge_to_total, bar_fraction, arm_fraction and ring_fraction must be "
                f"non-negative and sum to at most 1, got {fractions}"
            )
        if problems:
            raise SurveyError("Invalid galaxy parameters: " + "; ".join(problems) + ".")

    @property
    def visibility(self) -> float:
        """How easy the galaxy's features are to see, in (0, 1]: lower when faint or small."""
        mean_surface_brightness = self.magnitude + 2.5 * math.log10(2 * math.pi * (self.radius * _REFERENCE_SIZE) ** 2)
        brightness = _sigmoid((25.3 - mean_surface_brightness) / 0.6)
        bigness = _sigmoid((self.radius - 0.045) / 0.012)
        return float(np.clip(brightness * bigness, 0.05, 1.0))


def sample_morphology(rng: np.random.Generator) -> GalaxyParams:
    """Draw the true morphology of one galaxy from the survey's population.

    About 35% ellipticals, 50% disks (70% of them spiral, 45% barred) and 15% edge-on disks;
    about 30% of all galaxies have a ring, 25% some tidal disturbance and 6% an artifact.

    Args:
        rng: the random generator to draw from.

    Returns:
        The galaxy's parameters.
    """
    morphology = str(rng.choice(["elliptical", "disk", "edge_on"], p=[0.35, 0.5, 0.15]))
    magnitude = float(rng.uniform(14.5, 18.3))
    radius = float(np.clip(np.exp(rng.normal(np.log(0.085), 0.25)) * 10 ** (-0.08 * (magnitude - 16.4)), 0.04, 0.17))
    position_angle = float(rng.uniform(0, np.pi))
    bulge_colour = float(rng.uniform(0.7, 0.95))
    disk_colour = float(rng.uniform(0.25, 0.55))
    artifact = cast(Artifact, str(rng.choice(["none", "star", "trail"], p=[0.94, 0.04, 0.02])))
    disturbance = cast(
        Disturbance,
        str(rng.choice(["none", "minor_disturbance", "major_disturbance", "merger"], p=[0.75, 0.12, 0.07, 0.06])),
    )
    # What every galaxy has, drawn above in this order (a seed gives the same survey).
    galaxy = partial(
        GalaxyParams,
        magnitude=magnitude,
        position_angle=position_angle,
        bulge_colour=bulge_colour,
        disk_colour=disk_colour,
        disturbance=disturbance,
        artifact=artifact,
    )

    if morphology == "elliptical":
        ring = bool(rng.random() < 0.15)
        ring_fraction = float(rng.uniform(0.06, 0.16)) if ring else 0.0
        return galaxy(
            morphology="elliptical",
            radius=radius,
            axis_ratio=float(np.clip(rng.beta(5, 2) * 1.05, 0.35, 1.0)),
            sersic_n=float(rng.uniform(2.5, 5.0)),
            bulge_to_total=1.0 - ring_fraction,
            ring=ring,
            ring_fraction=ring_fraction,
            ring_radius=float(rng.uniform(1.6, 2.4)),
        )

    if morphology == "edge_on":
        edge_on_bulge = cast(EdgeOnBulge, str(rng.choice(["none", "rounded", "boxy"], p=[0.35, 0.4, 0.25])))
        bulge_to_total = {"none": 0.0, "rounded": float(rng.uniform(0.12, 0.45)), "boxy": float(rng.uniform(0.1, 0.3))}[
            edge_on_bulge
        ]
        return galaxy(
            morphology="edge_on",
            radius=radius * 1.15,
            axis_ratio=float(rng.uniform(0.1, 0.2)),
            sersic_n=float(rng.uniform(1.5, 3.0)),
            bulge_to_total=bulge_to_total,
            edge_on_bulge=edge_on_bulge,
        )

    bulge_to_total = float(0.0 if rng.random() < 0.1 else np.clip(rng.beta(1.6, 3.2) * 0.85, 0.03, 0.8))
    bar = cast(BarStrength, str(rng.choice(BAR_LABELS, p=[0.55, 0.25, 0.2])))
    room = 1.0 - bulge_to_total
    bar_fraction = {"none": 0.0, "weak": float(rng.uniform(0.05, 0.09)), "strong": float(rng.uniform(0.12, 0.2))}[
        bar
    ] * room
    ring = bool(rng.random() < (0.55 if bar != "none" else 0.42))
    ring_fraction = float(rng.uniform(0.08, 0.2)) * room if ring else 0.0
    arm_count = 0
    arm_winding: Winding = "none"
    arm_fraction = 0.0
    if rng.random() < 0.7:
        arm_count = int(rng.choice([1, 2, 3, 4, 5], p=[0.08, 0.5, 0.2, 0.12, 0.1]))
        tight_bias = 0.2 + 0.4 * bulge_to_total  # tighter arms around bigger bulges, as in the Hubble sequence
        arm_winding = cast(
            Winding, str(rng.choice(["tight", "medium", "loose"], p=[tight_bias, 0.4, 0.6 - tight_bias]))
        )
        arm_fraction = float(rng.uniform(0.35, 0.6)) * room
    return galaxy(
        morphology="disk",
        radius=radius * 1.2,
        axis_ratio=float(np.sqrt(rng.uniform(0.16, 1.0))),
        sersic_n=float(rng.uniform(1.5, 4.0)),
        bulge_to_total=bulge_to_total,
        bar=bar,
        bar_fraction=bar_fraction,
        arm_count=arm_count,
        arm_winding=arm_winding,
        arm_fraction=arm_fraction,
        ring=ring,
        ring_fraction=ring_fraction,
        ring_radius=float(rng.uniform(1.0, 1.25) if bar != "none" else rng.uniform(0.9, 1.7)),
    )
