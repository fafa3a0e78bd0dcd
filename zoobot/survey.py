"""A synthetic galaxy survey with known truth: the app's demo data set and our benchmark.

Each galaxy is drawn from known morphology parameters (:func:`sample_morphology`), rendered as a
DECaLS-like g, r, z colour composite (:func:`render_galaxy`), and classified by simulated Galaxy Zoo
volunteers who walk the real GZ DECaLS DR5 decision tree (:func:`simulate_votes`).
:func:`make_survey` does all three for a whole survey and writes the images and ``catalog.csv``.

Sizes in :class:`GalaxyParams` are fractions of the image width, and surface brightness is kept per
pixel, so the same galaxy looks the same at 64 or 256 pixels. Fluxes are in nanomaggies
(magnitude 22.5 is one nanomaggy), as in the Legacy Surveys.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Optional, Union

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage

if TYPE_CHECKING:
    from zoobot.schemas import Question, Schema

Morphology = Literal["elliptical", "disk", "edge_on"]
BarStrength = Literal["none", "weak", "strong"]
Winding = Literal["none", "tight", "medium", "loose"]
EdgeOnBulge = Literal["none", "rounded", "boxy"]
Disturbance = Literal["none", "minor_disturbance", "major_disturbance", "merger"]
Artifact = Literal["none", "star", "trail"]
ImageFormat = Literal["png", "jpg"]

BAR_LABELS: tuple[str, ...] = ("none", "weak", "strong")
"""The ``bar`` target's classes, in the order of its integer codes 0, 1, 2."""

CATALOG_NAME = "catalog.csv"
IMAGE_FOLDER = "images"
SCHEMA_NAME = "decals_dr5"

_REFERENCE_SIZE = 128  # surface brightness per pixel is defined at this image size
_ZERO_POINT = 22.5  # magnitude of one nanomaggy
_RGB_SCALES = 0.5 * np.array([6.0, 3.4, 2.2])  # g, r, z multipliers before the asinh stretch
_ASINH_Q = 20.0
_ASINH_FLOOR = 0.012  # keeps the sky dark grey rather than pure black, as in DECaLS cutouts
_SKY_NOISE = np.array([0.009, 0.013, 0.024])  # g, r, z: nanomaggies per pixel
_PITCH_DEGREES = {"tight": (8.0, 13.0), "medium": (15.0, 21.0), "loose": (25.0, 34.0)}


class SurveyError(ValueError):
    """A synthetic-survey argument is invalid; the message says which and what to use instead."""


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
        choices = {"morphology": ("elliptical", "disk", "edge_on"), "bar": BAR_LABELS,
                   "arm_winding": ("none", "tight", "medium", "loose"),
                   "edge_on_bulge": ("none", "rounded", "boxy"),
                   "disturbance": ("none", "minor_disturbance", "major_disturbance", "merger"),
                   "artifact": ("none", "star", "trail")}
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
            problems.append("bulge_to_total, bar_fraction, arm_fraction and ring_fraction must be "
                            f"non-negative and sum to at most 1, got {fractions}")
        if problems:
            raise SurveyError("Invalid galaxy parameters: " + "; ".join(problems) + ".")

    @property
    def visibility(self) -> float:
        """How easy the galaxy's features are to see, in (0, 1]: lower when faint or small."""
        mean_surface_brightness = self.magnitude + 2.5 * math.log10(
            2 * math.pi * (self.radius * _REFERENCE_SIZE) ** 2)
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
    radius = float(np.clip(np.exp(rng.normal(np.log(0.085), 0.25))
                           * 10 ** (-0.08 * (magnitude - 16.4)), 0.04, 0.17))
    position_angle = float(rng.uniform(0, np.pi))
    bulge_colour = float(rng.uniform(0.7, 0.95))
    disk_colour = float(rng.uniform(0.25, 0.55))
    artifact = str(rng.choice(["none", "star", "trail"], p=[0.94, 0.04, 0.02]))
    disturbance = str(rng.choice(["none", "minor_disturbance", "major_disturbance", "merger"],
                                 p=[0.75, 0.12, 0.07, 0.06]))

    if morphology == "elliptical":
        ring = bool(rng.random() < 0.15)
        ring_fraction = float(rng.uniform(0.06, 0.16)) if ring else 0.0
        return GalaxyParams(
            morphology="elliptical", magnitude=magnitude, radius=radius,
            axis_ratio=float(np.clip(rng.beta(5, 2) * 1.05, 0.35, 1.0)),
            position_angle=position_angle, sersic_n=float(rng.uniform(2.5, 5.0)),
            bulge_to_total=1.0 - ring_fraction, bulge_colour=bulge_colour, disk_colour=disk_colour,
            ring=ring, ring_fraction=ring_fraction, ring_radius=float(rng.uniform(1.6, 2.4)),
            disturbance=disturbance, artifact=artifact)

    if morphology == "edge_on":
        edge_on_bulge = str(rng.choice(["none", "rounded", "boxy"], p=[0.35, 0.4, 0.25]))
        bulge_to_total = {"none": 0.0, "rounded": float(rng.uniform(0.12, 0.45)),
                          "boxy": float(rng.uniform(0.1, 0.3))}[edge_on_bulge]
        return GalaxyParams(
            morphology="edge_on", magnitude=magnitude, radius=radius * 1.15,
            axis_ratio=float(rng.uniform(0.1, 0.2)), position_angle=position_angle,
            sersic_n=float(rng.uniform(1.5, 3.0)), bulge_to_total=bulge_to_total,
            bulge_colour=bulge_colour, disk_colour=disk_colour, edge_on_bulge=edge_on_bulge,
            disturbance=disturbance, artifact=artifact)

    bulge_to_total = float(0.0 if rng.random() < 0.1 else np.clip(rng.beta(1.6, 3.2) * 0.85, 0.03, 0.8))
    bar = str(rng.choice(BAR_LABELS, p=[0.55, 0.25, 0.2]))
    room = 1.0 - bulge_to_total
    bar_fraction = {"none": 0.0, "weak": float(rng.uniform(0.05, 0.09)),
                    "strong": float(rng.uniform(0.12, 0.2))}[bar] * room
    ring = bool(rng.random() < (0.55 if bar != "none" else 0.42))
    ring_fraction = float(rng.uniform(0.08, 0.2)) * room if ring else 0.0
    arm_count = 0
    arm_winding = "none"
    arm_fraction = 0.0
    if rng.random() < 0.7:
        arm_count = int(rng.choice([1, 2, 3, 4, 5], p=[0.08, 0.5, 0.2, 0.12, 0.1]))
        tight_bias = 0.2 + 0.4 * bulge_to_total  # tighter arms around bigger bulges, as in the Hubble sequence
        arm_winding = str(rng.choice(["tight", "medium", "loose"],
                                     p=[tight_bias, 0.4, 0.6 - tight_bias]))
        arm_fraction = float(rng.uniform(0.35, 0.6)) * room
    return GalaxyParams(
        morphology="disk", magnitude=magnitude, radius=radius * 1.2,
        axis_ratio=float(np.sqrt(rng.uniform(0.16, 1.0))), position_angle=position_angle,
        sersic_n=float(rng.uniform(1.5, 4.0)), bulge_to_total=bulge_to_total,
        bulge_colour=bulge_colour, disk_colour=disk_colour, bar=bar, bar_fraction=bar_fraction,
        arm_count=arm_count, arm_winding=arm_winding, arm_fraction=arm_fraction, ring=ring,
        ring_fraction=ring_fraction,
        ring_radius=float(rng.uniform(1.0, 1.25) if bar != "none" else rng.uniform(0.9, 1.7)),
        disturbance=disturbance, artifact=artifact)


# --- rendering -------------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _band_weights(g_minus_r: float) -> np.ndarray:
    """g, r, z flux relative to r for a colour g-r (with r-z = 0.6 (g-r), roughly a galaxy locus)."""
    return np.array([10 ** (-0.4 * g_minus_r), 1.0, 10 ** (0.24 * g_minus_r)])


def _sersic(r: np.ndarray, r_eff: float, n: float) -> np.ndarray:
    b = 2 * n - 1 / 3 + 4 / (405 * n)
    return np.exp(-b * ((r / r_eff) ** (1 / n) - 1))


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


class _Canvas:
    """Three band images (g, r, z) of one cutout, with the pixel grid in image-width units."""

    def __init__(self, size: int) -> None:
        self.size = size
        grid = (np.arange(size) - (size - 1) / 2) / size
        self.u, self.v = np.meshgrid(grid, grid)  # x right, y down, centre 0, width 1
        self.bands = np.zeros((3, size, size))
        self.flux_to_pixel = (size / _REFERENCE_SIZE) ** 2

    def frame(self, x0: float, y0: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates rotated so the x axis runs along ``angle``, centred on (x0, y0)."""
        du, dv = self.u - x0, self.v - y0
        c, s = math.cos(angle), math.sin(angle)
        return du * c + dv * s, -du * s + dv * c

    def add(self, image: np.ndarray, flux: float, g_minus_r: float) -> None:
        """Add a component of total r-band ``flux`` (nanomaggies) with shape ``image``."""
        total = image.sum()
        if flux <= 0 or total <= 0:
            return
        scale = flux * self.flux_to_pixel / total
        self.bands += (scale * _band_weights(g_minus_r))[:, None, None] * image

    def add_points(self, x: np.ndarray, y: np.ndarray, fluxes: np.ndarray, g_minus_r: float) -> None:
        """Add point sources (before the PSF blur) at image-width coordinates."""
        cols = np.round(x * self.size + (self.size - 1) / 2).astype(int)
        rows = np.round(y * self.size + (self.size - 1) / 2).astype(int)
        inside = (cols >= 0) & (cols < self.size) & (rows >= 0) & (rows < self.size)
        points = np.zeros((self.size, self.size))
        np.add.at(points, (rows[inside], cols[inside]), fluxes[inside] * self.flux_to_pixel)
        self.bands += _band_weights(g_minus_r)[:, None, None] * points


def _flux(magnitude: float) -> float:
    return 10 ** (-0.4 * (magnitude - _ZERO_POINT))


def _draw_disk_galaxy(canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float,
                      rng: np.random.Generator) -> None:
    """Bulge + exponential disk + bar + spiral arms + ring, in the inclined disk plane."""
    xr, yr = canvas.frame(x0, y0, p.position_angle)
    q = p.axis_ratio
    xd, yd = xr, yr / q  # deprojected to the disk plane
    rd = np.hypot(xd, yd)
    theta = np.arctan2(yd, xd)
    scale_length = p.radius / 1.678
    bar_length = p.radius * rng.uniform(0.85, 1.2)
    bar_angle = rng.uniform(0, np.pi)

    bulge_radius = p.radius * (0.12 + 0.3 * p.bulge_to_total)
    bulge_q = max(q, rng.uniform(0.75, 0.95))
    canvas.add(_sersic(np.hypot(xr, yr / bulge_q), bulge_radius, p.sersic_n),
               p.bulge_to_total * flux, p.bulge_colour)

    disk_fraction = 1.0 - p.bulge_to_total - p.bar_fraction - p.arm_fraction - p.ring_fraction
    disk = np.exp(-rd / scale_length)
    if p.ring:  # rings sit outside a depleted zone of the disk, which is what makes them stand out
        gap_radius = 0.65 * p.ring_radius * p.radius
        disk *= 1 - 0.7 * np.exp(-0.5 * ((rd - gap_radius) / (0.25 * p.ring_radius * p.radius)) ** 2)
    canvas.add(disk, disk_fraction * flux, 0.5 * (p.bulge_colour + p.disk_colour))

    if p.bar != "none":
        c, s = math.cos(bar_angle), math.sin(bar_angle)
        bar_q = 0.22 if p.bar == "strong" else 0.4
        rb2 = ((xd * c + yd * s) / bar_length) ** 2 + ((-xd * s + yd * c) / (bar_length * bar_q)) ** 2
        canvas.add(np.clip(1 - rb2, 0, None) ** 0.8, p.bar_fraction * flux,
                   0.6 * p.bulge_colour + 0.4 * p.disk_colour)

    if p.arm_count > 0:
        m = p.arm_count if p.arm_count <= 4 else int(rng.integers(5, 8))
        pitch = math.radians(rng.uniform(*_PITCH_DEGREES[p.arm_winding]))
        start = bar_length if p.bar != "none" else max(bulge_radius * 1.5, 0.35 * p.radius)
        phase0 = bar_angle if p.bar != "none" else rng.uniform(0, 2 * np.pi)
        log_r = np.log(np.maximum(rd, 1e-4) / start) / math.tan(pitch)
        sharpness = 4.0 if m <= 3 else 2.5
        pattern = ((1 + np.cos(m * (theta - log_r - phase0))) / 2) ** sharpness
        envelope = np.exp(-rd / (1.25 * scale_length)) * (1 - np.exp(-(rd / start) ** 3))
        canvas.add(pattern * envelope, 0.75 * p.arm_fraction * flux, p.disk_colour)
        # star-forming knots strung along the arms
        n_knots = int(rng.integers(8, 25))
        arm = rng.integers(0, m, n_knots)
        r_knot = start + rng.exponential(1.2 * scale_length, n_knots)
        t_knot = phase0 + 2 * np.pi * arm / m + np.log(r_knot / start) / math.tan(pitch)
        t_knot += rng.normal(0, 0.08, n_knots)
        kx, ky = r_knot * np.cos(t_knot), r_knot * np.sin(t_knot) * q
        c, s = math.cos(p.position_angle), math.sin(p.position_angle)
        knot_flux = rng.dirichlet(np.ones(n_knots)) * 0.25 * p.arm_fraction * flux
        canvas.add_points(x0 + kx * c - ky * s, y0 + kx * s + ky * c, knot_flux,
                          p.disk_colour - 0.15)

    if p.ring:
        ring_radius = p.ring_radius * p.radius
        width = ring_radius * rng.uniform(0.06, 0.12)
        canvas.add(np.exp(-0.5 * ((rd - ring_radius) / width) ** 2), p.ring_fraction * flux,
                   p.disk_colour - 0.05)


def _draw_elliptical(canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float,
                     rng: np.random.Generator) -> None:
    xr, yr = canvas.frame(x0, y0, p.position_angle)
    canvas.add(_sersic(np.hypot(xr, yr / p.axis_ratio), p.radius, p.sersic_n),
               p.bulge_to_total * flux, p.bulge_colour)
    if p.ring:  # a lenticular's ring, in the plane its outline suggests
        ring_radius = p.ring_radius * p.radius
        width = ring_radius * rng.uniform(0.08, 0.15)
        canvas.add(np.exp(-0.5 * ((np.hypot(xr, yr / p.axis_ratio) - ring_radius) / width) ** 2),
                   p.ring_fraction * flux, p.disk_colour)


def _draw_edge_on(canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Thin disk and bulge; returns the frame for the dust lane applied after the other sources."""
    xr, yr = canvas.frame(x0, y0, p.position_angle)
    scale_length = p.radius / 1.678
    scale_height = p.axis_ratio * p.radius * 0.8
    disk = np.exp(-np.abs(xr) / scale_length) / np.cosh(yr / scale_height) ** 2
    canvas.add(disk, (1 - p.bulge_to_total) * flux, p.disk_colour + 0.1)
    if p.edge_on_bulge == "rounded":
        bulge_radius = p.radius * rng.uniform(0.3, 0.45)
        canvas.add(_sersic(np.hypot(xr, yr / 0.85), bulge_radius, p.sersic_n),
                   p.bulge_to_total * flux, p.bulge_colour)
    elif p.edge_on_bulge == "boxy":  # a peanut: superelliptical isophotes with a flat-topped profile
        bulge_radius = p.radius * rng.uniform(0.45, 0.6)
        box = (np.abs(xr / bulge_radius) ** 5 + np.abs(yr / (0.6 * bulge_radius)) ** 5) ** 0.2
        canvas.add(_sersic(box, 0.7, 0.7), p.bulge_to_total * flux, p.bulge_colour)
    return xr, yr


def _tidal_tail(canvas: _Canvas, x0: float, y0: float, start: float, length: float,
                angle: float, curl: float, width: float) -> np.ndarray:
    """A curved stream leaving (x0, y0) at radius ``start`` towards ``angle``, bending by ``curl``."""
    r = np.hypot(canvas.u - x0, canvas.v - y0)
    centre = angle + curl * (r - start) / length
    offset = _wrap(np.arctan2(canvas.v - y0, canvas.u - x0) - centre) * r
    along = np.clip((r - start) / length, 0, None)
    return (np.exp(-0.5 * (offset / (width * (1 + along))) ** 2) * np.exp(-along)
            * (1 - np.exp(-(r / start) ** 4)))


def _draw_disturbance(canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float,
                      rng: np.random.Generator) -> None:
    """Distort the galaxy drawn so far and add tidal plumes, tails, or a merging companion."""
    if p.disturbance == "none":
        return
    strength = {"minor_disturbance": 0.12, "major_disturbance": 0.45, "merger": 0.3}[p.disturbance]
    _warp(canvas, x0, y0, strength * p.radius, p.radius, rng)
    angle = rng.uniform(0, 2 * np.pi)
    curl = rng.choice([-1, 1]) * rng.uniform(0.2, 0.7)
    start = p.radius * 1.2
    width = p.radius * 0.35
    if p.disturbance == "minor_disturbance":
        canvas.add(_tidal_tail(canvas, x0, y0, start, p.radius * rng.uniform(1.0, 1.6), angle,
                               curl, width), rng.uniform(0.03, 0.06) * flux, p.disk_colour + 0.2)
        return
    for side, share in ((0.0, 1.0), (np.pi + rng.normal(0, 0.4), rng.uniform(0.3, 0.8))):
        length = p.radius * rng.uniform(1.6, 2.8)
        canvas.add(_tidal_tail(canvas, x0, y0, start, length, angle + side, curl, width),
                   share * rng.uniform(0.05, 0.1) * flux, p.disk_colour + 0.2)
    if p.disturbance == "merger":
        separation = p.radius * rng.uniform(1.0, 1.8)
        direction = angle + rng.choice([-1, 1]) * np.pi / 2
        cx = x0 + separation * math.cos(direction)
        cy = y0 + separation * math.sin(direction)
        xr, yr = canvas.frame(cx, cy, rng.uniform(0, np.pi))
        companion_q = rng.uniform(0.5, 0.95)
        canvas.add(_sersic(np.hypot(xr, yr / companion_q), p.radius * rng.uniform(0.4, 0.8),
                           rng.uniform(1.0, 4.0)),
                   rng.uniform(0.3, 0.9) * flux, rng.uniform(p.disk_colour, p.bulge_colour))


def _warp(canvas: _Canvas, x0: float, y0: float, amplitude: float, radius: float,
          rng: np.random.Generator) -> None:
    """Displace the light drawn so far by a smooth random field that grows outwards (lopsidedness)."""
    du, dv = canvas.u - x0, canvas.v - y0
    r = np.hypot(du, dv)
    theta = np.arctan2(dv, du)
    grow = amplitude * (r / (r + radius))
    shift_x = grow * np.cos(theta * rng.integers(1, 3) + rng.uniform(0, 2 * np.pi))
    shift_y = grow * np.sin(theta * rng.integers(1, 3) + rng.uniform(0, 2 * np.pi))
    rows = (canvas.v + shift_y) * canvas.size + (canvas.size - 1) / 2
    cols = (canvas.u + shift_x) * canvas.size + (canvas.size - 1) / 2
    for band in canvas.bands:
        band[:] = ndimage.map_coordinates(band, [rows, cols], order=1, mode="constant")


def _draw_neighbours(canvas: _Canvas, rng: np.random.Generator) -> None:
    """Faint field stars and background galaxies scattered over the cutout."""
    for _ in range(int(rng.poisson(1.8))):
        x, y = rng.uniform(-0.48, 0.48, 2)
        if np.hypot(x, y) < 0.08:
            continue  # keep the target galaxy the central source
        flux = _flux(rng.uniform(19.0, 22.5))
        if rng.random() < 0.4:
            canvas.add_points(np.array([x]), np.array([y]), np.array([flux]), rng.uniform(0.3, 1.4))
        else:
            xr, yr = canvas.frame(x, y, rng.uniform(0, np.pi))
            canvas.add(_sersic(np.hypot(xr, yr / rng.uniform(0.3, 1.0)), rng.uniform(0.008, 0.02),
                               rng.uniform(1.0, 3.0)), flux, rng.uniform(0.4, 1.2))


def _draw_artifact(canvas: _Canvas, artifact: Artifact, fwhm: float,
                   rng: np.random.Generator) -> None:
    """A saturated star with diffraction spikes, or a satellite trail (after the PSF blur)."""
    if artifact == "star":
        x0, y0 = rng.uniform(-0.3, 0.3, 2)
        du, dv = canvas.u - x0, canvas.v - y0
        alpha = fwhm * 0.9
        moffat = (1 + (du ** 2 + dv ** 2) / alpha ** 2) ** -2.5
        halo = (1 + (du ** 2 + dv ** 2) / (8 * alpha) ** 2) ** -1.5
        spike_width = fwhm * 0.25
        spikes = sum(np.exp(-np.abs(across) / spike_width) / (1 + np.abs(along) / 0.08) ** 1.5
                     for across, along in ((du, dv), (dv, du)))
        flux = _flux(rng.uniform(12.0, 13.5))
        image = moffat + 0.02 * halo + 0.02 * spikes
        canvas.add(image, flux, rng.uniform(0.3, 0.8))
    elif artifact == "trail":
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(-0.3, 0.3)
        across = canvas.u * math.sin(angle) - canvas.v * math.cos(angle) - offset
        line = np.exp(-0.5 * (across / (fwhm * 0.35)) ** 2)
        band = rng.integers(0, 3)  # trails come from a single exposure, so show in one band
        canvas.bands[band] += rng.uniform(0.1, 0.4) * line


def _to_rgb(bands: np.ndarray) -> np.ndarray:
    """g, r, z bands to a DECaLS-style colour composite (Lupton-like asinh stretch on the mean)."""
    scaled = np.clip(bands * _RGB_SCALES[:, None, None] + _ASINH_FLOOR, 0, None)
    intensity = scaled.mean(axis=0)
    intensity = np.where(intensity > 0, intensity, 1e-6)
    stretched = scaled * (np.arcsinh(_ASINH_Q * intensity) / math.sqrt(_ASINH_Q) / intensity)
    rgb = np.clip(stretched[::-1].transpose(1, 2, 0), 0, 1)  # z, r, g -> red, green, blue
    return np.round(rgb * 255).astype(np.uint8)


def render_galaxy(params: GalaxyParams, size: int, rng: np.random.Generator) -> np.ndarray:
    """Render one galaxy as a DECaLS-like colour cutout.

    Draws the galaxy's components in g, r and z, adds neighbouring sources, blurs with a Gaussian
    PSF, adds sky and source noise and any artifact, then maps z, r, g to red, green, blue with an
    asinh stretch (dark sky, redder bulges, bluer disks and arms).

    Args:
        params: the galaxy's true morphology.
        size: image side in pixels.
        rng: random generator for the details the parameters leave open (arm phase, knots,
            companion position, neighbours, noise).

    Returns:
        ``uint8`` array of shape ``(size, size, 3)``.
    """
    canvas = _Canvas(size)
    x0, y0 = rng.normal(0, 0.01, 2)
    flux = _flux(params.magnitude)
    dust_frame = None
    if params.morphology == "elliptical":
        _draw_elliptical(canvas, params, x0, y0, flux, rng)
    elif params.morphology == "disk":
        _draw_disk_galaxy(canvas, params, x0, y0, flux, rng)
    else:
        dust_frame = _draw_edge_on(canvas, params, x0, y0, flux, rng)
    _draw_disturbance(canvas, params, x0, y0, flux, rng)
    if dust_frame is not None and rng.random() < 0.6:
        xr, yr = dust_frame
        lane_width = params.axis_ratio * params.radius * 0.3
        tau = rng.uniform(1.0, 2.0) * np.exp(-0.5 * (yr / lane_width) ** 2) \
            * np.exp(-np.abs(xr) / (2 * params.radius))
        canvas.bands *= np.exp(-tau[None] * np.array([1.3, 1.0, 0.6])[:, None, None])
    _draw_neighbours(canvas, rng)

    fwhm = rng.uniform(0.011, 0.018)  # in image widths: 1.4 - 2.3 pixels at 128
    for band, stretch in zip(canvas.bands, (1.08, 1.0, 0.94)):
        ndimage.gaussian_filter(band, fwhm * stretch * size / 2.355, output=band, mode="constant")
    sky = _SKY_NOISE * rng.uniform(0.8, 1.3)
    source_variance = np.clip(canvas.bands, 0, None) * 0.002
    canvas.bands += rng.standard_normal(canvas.bands.shape) * np.sqrt(
        sky[:, None, None] ** 2 + source_variance)
    _draw_artifact(canvas, params.artifact, fwhm, rng)
    return _to_rgb(canvas.bands)


# --- simulated volunteers ---------------------------------------------------------------------

# question (without campaign suffix) -> (base error rate, extra error for the faintest galaxies,
# whether answers are ordered so that mistakes land on neighbouring answers)
_DIFFICULTY: dict[str, tuple[float, float, bool]] = {
    "smooth-or-featured": (0.08, 0.25, False),
    "disk-edge-on": (0.04, 0.15, False),
    "has-spiral-arms": (0.07, 0.3, False),
    "bar": (0.12, 0.3, True),
    "bulge-size": (0.15, 0.3, True),
    "how-rounded": (0.1, 0.2, True),
    "edge-on-bulge": (0.12, 0.3, False),
    "spiral-winding": (0.18, 0.3, True),
    "spiral-arm-count": (0.12, 0.35, True),
    "merging": (0.05, 0.2, True),
}


def _bumps(value: float, centres: list[float], width: float) -> list[float]:
    return [math.exp(-0.5 * ((value - c) / width) ** 2) + 1e-3 for c in centres]


def _towards(value, target, weight: float):
    """``value`` moved a fraction ``weight`` of the way to ``target``."""
    return value + (target - value) * weight


def _ideal_answers(p: GalaxyParams) -> dict[str, dict[str, float]]:
    """What a careful volunteer would answer to each question, as unnormalised answer weights.

    Keys are question names without the campaign suffix, then answer suffixes without the ``_``.
    Questions a careful volunteer would not reach (e.g. bar for an elliptical) still get the
    answer a volunteer who took that branch by mistake would most likely give.
    """
    vis = p.visibility
    room = max(1.0 - p.bulge_to_total, 1e-6)
    arm_strength = min(1.0, p.arm_fraction / room / 0.45) if p.arm_count else 0.0
    bar_strength = {"none": 0.0, "weak": 0.5, "strong": 1.0}[p.bar]
    disturbed = p.disturbance in ("major_disturbance", "merger")
    # A ring is a sign of a disk ("featured"), and volunteers often take it for tightly wound arms
    # with no countable number; the fainter the ring, the less it sways them.
    ring_seen = p.ring * vis * min(1.0, p.ring_fraction / 0.1)

    if p.morphology == "elliptical":
        featured = _towards(0.04 + 0.3 * p.ring + 0.15 * disturbed, 1.0, 0.8 * ring_seen)
    elif p.morphology == "edge_on":
        featured = 0.6 + 0.35 * vis
    else:
        structure = max(arm_strength, 0.9 * bar_strength, 0.7 * p.ring, 1.0 - p.bulge_to_total)
        featured = _towards(min(0.97, 0.12 + 0.85 * structure * vis + 0.1 * disturbed), 1.0,
                            0.6 * ring_seen)
    artifact = {"none": 0.01, "star": 0.8, "trail": 0.6}[p.artifact]

    if p.morphology == "edge_on":
        edge_on = 0.97
    elif p.morphology == "disk":
        edge_on = 0.02 + 0.8 * _sigmoid((0.32 - p.axis_ratio) / 0.04)
    else:
        edge_on = 0.35 if p.axis_ratio < 0.45 else 0.03

    if p.arm_count:
        spiral = 0.35 + 0.6 * vis * arm_strength
    else:
        spiral = _towards(0.04 + 0.2 * p.ring + 0.1 * disturbed, 1.0, 0.5 * ring_seen)

    bar = {"strong": [0.75, 0.2, 0.05], "weak": [0.12, 0.5, 0.38], "none": [0.02, 0.08, 0.9]}[p.bar]
    bar = [vis * b + (1 - vis) * faint for b, faint in zip(bar, [0.02, 0.1, 0.88])]

    if p.morphology == "edge_on":
        edge_on_bulge = {"boxy": [0.65, 0.1, 0.25], "none": [0.05, 0.8, 0.15],
                         "rounded": [0.1, 0.12, 0.78]}[p.edge_on_bulge]
    else:
        edge_on_bulge = [0.05, 0.8, 0.15] if p.bulge_to_total < 0.05 else [0.05, 0.2, 0.75]

    winding = {"tight": [0.72, 0.24, 0.04], "medium": [0.17, 0.66, 0.17],
               "loose": [0.04, 0.26, 0.7], "none": [0.3, 0.45, 0.25]}[p.arm_winding]
    winding = _towards(np.array(winding), np.array([0.8, 0.17, 0.03]),
                       (0.3 if p.arm_count else 0.6) * ring_seen)

    if p.arm_count:
        counts = [math.exp(-abs(k - p.arm_count) / 0.5) for k in range(1, 6)]
        cant_tell = 0.08 + 0.5 * (1 - vis) + 0.15 * (p.arm_count >= 4)
    else:
        counts, cant_tell = [0.05, 0.25, 0.05, 0.02, 0.02], 0.6
    cant_tell = _towards(cant_tell, 1.0, 0.3 * ring_seen)
    arm_counts = [c * (1 - cant_tell) / sum(counts) for c in counts] + [cant_tell]

    merging = {"none": [0.9, 0.08, 0.015, 0.005], "minor_disturbance": [0.35, 0.5, 0.12, 0.03],
               "major_disturbance": [0.06, 0.3, 0.5, 0.14],
               "merger": [0.02, 0.06, 0.22, 0.7]}[p.disturbance]

    return {
        "smooth-or-featured": {"smooth": (1 - artifact) * (1 - featured),
                               "featured-or-disk": (1 - artifact) * featured, "artifact": artifact},
        "disk-edge-on": {"yes": edge_on, "no": 1 - edge_on},
        "has-spiral-arms": {"yes": spiral, "no": 1 - spiral},
        "bar": dict(zip(["strong", "weak", "no"], bar)),
        "bulge-size": dict(zip(["dominant", "large", "moderate", "small", "none"],
                               _bumps(p.bulge_to_total, [0.75, 0.5, 0.3, 0.14, 0.0],
                                      0.09 + 0.05 * (1 - vis)))),
        "how-rounded": dict(zip(["round", "in-between", "cigar-shaped"],
                                _bumps(p.axis_ratio, [0.92, 0.62, 0.3], 0.1))),
        "edge-on-bulge": dict(zip(["boxy", "none", "rounded"], edge_on_bulge)),
        "spiral-winding": dict(zip(["tight", "medium", "loose"], winding)),
        "spiral-arm-count": dict(zip(["1", "2", "3", "4", "more-than-4", "cant-tell"], arm_counts)),
        "merging": dict(zip(["none", "minor-disturbance", "major-disturbance", "merger"], merging)),
    }


def _question_key(question_text: str) -> str:
    """``'bar-dr5'`` -> ``'bar'``: the question without its campaign suffix."""
    for key in _DIFFICULTY:
        if question_text == key or question_text.startswith(key + "-"):
            return key
    raise SurveyError(
        f"The synthetic volunteers cannot answer question {question_text!r}: they know the "
        f"GZ DECaLS questions {sorted(_DIFFICULTY)}. Use the '{SCHEMA_NAME}' schema.")


def _confusion(key: str, n_answers: int, ordinal: bool) -> np.ndarray:
    """Row-stochastic matrix: where a volunteer's mistake lands, given the answer they meant."""
    index = np.arange(n_answers)
    distance = np.abs(index[:, None] - index[None, :])
    weights = np.exp(-(distance - 1.0)) if ordinal else np.ones((n_answers, n_answers))
    if key == "smooth-or-featured":  # volunteers rarely call a clean galaxy image an artifact
        weights[:, -1] = 0.1
    np.fill_diagonal(weights, 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


def _walk_order(schema: Schema) -> list[Question]:
    """The schema's questions with every question after the one whose answer leads to it."""
    ordered: list = []
    seen: set[str] = set()

    def visit(question: Question) -> None:
        if question.text in seen:
            return
        if question.asked_after is not None:
            visit(question.asked_after.question)
        seen.add(question.text)
        ordered.append(question)

    for question in schema.questions:
        visit(question)
    return ordered


def sample_volunteer_count(rng: np.random.Generator) -> int:
    """How many volunteers classify a galaxy: ~35% get 5-11 (retired early), the rest 30-40."""
    if rng.random() < 0.35:
        return int(rng.integers(5, 12))
    return int(rng.integers(30, 41))


def simulate_votes(params: GalaxyParams, schema: Schema, rng: np.random.Generator,
                   n_volunteers: Optional[int] = None) -> dict[str, int]:
    """Simulate Galaxy Zoo volunteers classifying one galaxy through a decision tree.

    Each volunteer answers every question always asked, then only the questions that follow the
    answers they gave. They answer from the true morphology but make mistakes: more on harder
    questions, more on fainter or smaller galaxies, and some volunteers more than others. The DR5
    tree has no ring question, but a visible ring sways the answers as it does real volunteers':
    it is a sign of a disk ("featured"), and is often taken for tightly wound spiral arms whose
    number cannot be told.

    Args:
        params: the galaxy's true morphology.
        schema: a GZ DECaLS tree, e.g. ``get_schema('decals_dr5')``.
        rng: random generator for the volunteers.
        n_volunteers: how many volunteers; drawn with :func:`sample_volunteer_count` if None.

    Returns:
        Vote count for every answer column of ``schema`` (0 where no volunteer was asked).

    Raises:
        SurveyError: if the schema has a question or answer the volunteers do not know (they
            know the GZ DECaLS DR5 tree), or ``n_volunteers`` is below 1.
    """
    if n_volunteers is None:
        n_volunteers = sample_volunteer_count(rng)
    elif n_volunteers < 1:
        raise SurveyError(f"n_volunteers must be at least 1; got {n_volunteers}.")
    ideal = _ideal_answers(params)
    carelessness = rng.gamma(4.0, 0.25, n_volunteers)  # mean 1: some volunteers err more
    chosen: dict[str, np.ndarray] = {}  # answer column -> which volunteers gave it
    votes: dict[str, int] = {}
    for question in _walk_order(schema):
        key = _question_key(question.text)
        if question.asked_after is None:
            asked = np.ones(n_volunteers, dtype=bool)
        else:
            asked = chosen[question.asked_after.text]
        unknown = [a.text for a in question.answers if a.suffix.lstrip("_") not in ideal[key]]
        if unknown:
            raise SurveyError(f"The synthetic volunteers cannot give the answers {unknown}; they "
                              f"know the GZ DECaLS DR5 answers. Use the '{SCHEMA_NAME}' schema.")
        weights = np.array([ideal[key][answer.suffix.lstrip("_")] for answer in question.answers])
        meant = weights / weights.sum()
        base, faint, ordinal = _DIFFICULTY[key]
        error = np.clip(carelessness * (base + faint * (1 - params.visibility)), 0, 0.85)
        mistaken = meant @ _confusion(key, len(meant), ordinal)
        probs = (1 - error)[:, None] * meant + error[:, None] * mistaken
        picks = (probs.cumsum(axis=1) < rng.random(n_volunteers)[:, None]).sum(axis=1)
        picks = np.minimum(picks, len(meant) - 1)  # guards the last bin against rounding
        for index, answer in enumerate(question.answers):
            gave = asked & (picks == index)
            chosen[answer.text] = gave
            votes[answer.text] = int(gave.sum())
    return {col: votes[col] for col in schema.label_cols}


# --- the survey -------------------------------------------------------------------------------


def _check_arguments(n: int, size: int, seed: int, image_format: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SurveyError(f"n must be a whole number of galaxies, at least 1; got {n!r}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= 2048:
        raise SurveyError(f"size must be a whole number of pixels from 16 to 2048; got {size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SurveyError(f"seed must be a whole number, 0 or more; got {seed!r}.")
    if image_format not in ("png", "jpg"):
        raise SurveyError(f"image_format must be 'png' or 'jpg'; got {image_format!r}.")


def _galaxy_rngs(seed: int, index: int) -> tuple[np.random.Generator, ...]:
    """Independent generators for the morphology, the image and the votes of one galaxy.

    Keyed by (seed, index) alone, so galaxy ``index`` is the same whatever ``n`` or ``size``.
    """
    return tuple(np.random.default_rng([seed, index, stream]) for stream in range(3))


def make_survey(
    n: int = 1000,
    size: int = 128,
    *,
    out_dir: Union[str, Path],
    seed: int = 0,
    image_format: ImageFormat = "png",
    overwrite: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> pd.DataFrame:
    """Render a synthetic survey with simulated GZ DECaLS DR5 votes and known true morphology.

    Writes ``out_dir/images/<id_str>.<image_format>`` and ``out_dir/catalog.csv``. In the CSV,
    ``file_loc`` is relative to ``out_dir`` (so the folder can be moved); in the returned table it
    is absolute. The catalog's columns are:

    - ``id_str``, ``file_loc``;
    - targets: ``ring`` (0/1), ``bar`` (0/1/2 for none/weak/strong), ``bar_label``
      (``'none'``/``'weak'``/``'strong'``), ``bulge_to_total`` (r-band flux ratio, 0-1) and
      ``axis_ratio`` (b/a);
    - every ``decals_dr5`` answer column (vote counts; 0 where not asked) and one
      ``<question>_total-votes`` column per question;
    - the true parameters, ``true_<field>`` for every :class:`GalaxyParams` field, plus
      ``true_visibility``.

    The same ``seed`` gives the same catalog and the same image bytes; galaxy ``i`` does not depend
    on ``n`` or ``size``.

    Args:
        n: number of galaxies.
        size: image side in pixels.
        out_dir: folder to write into (created if needed).
        seed: random seed.
        image_format: ``'png'`` (lossless) or ``'jpg'`` (quality 90, like GZ DECaLS cutouts).
        overwrite: replace a survey already in ``out_dir``.
        progress: called as ``progress(done, total)`` after each galaxy.

    Returns:
        The catalog, one row per galaxy, with absolute ``file_loc``.

    Raises:
        SurveyError: if an argument is out of range, or ``out_dir`` already holds a catalog and
            ``overwrite`` is False.
    """
    from zoobot.trees import get_schema

    _check_arguments(n, size, seed, image_format)
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise SurveyError(f"out_dir {out_dir} is a file; give a folder to write the survey into.")
    if (out_dir / CATALOG_NAME).exists() and not overwrite:
        raise SurveyError(
            f"{out_dir / CATALOG_NAME} already exists; choose another out_dir, delete it, or pass "
            "overwrite=True (--overwrite on the command line) to replace it.")
    image_dir = out_dir / IMAGE_FOLDER
    image_dir.mkdir(parents=True, exist_ok=True)
    schema = get_schema(SCHEMA_NAME)

    rows = []
    for index in range(n):
        morphology_rng, image_rng, vote_rng = _galaxy_rngs(seed, index)
        params = sample_morphology(morphology_rng)
        id_str = f"synthetic-{seed}-{index:06d}"
        file_loc = f"{IMAGE_FOLDER}/{id_str}.{image_format}"
        image = Image.fromarray(render_galaxy(params, size, image_rng))
        if image_format == "png":
            image.save(out_dir / file_loc, format="PNG", compress_level=1)  # same size, 2x faster
        else:
            image.save(out_dir / file_loc, format="JPEG", quality=90)
        votes = simulate_votes(params, schema, vote_rng)
        row: dict[str, object] = {
            "id_str": id_str, "file_loc": file_loc, "ring": int(params.ring),
            "bar": BAR_LABELS.index(params.bar), "bar_label": params.bar,
            "bulge_to_total": params.bulge_to_total, "axis_ratio": params.axis_ratio}
        row.update(votes)
        for question in schema.questions:
            row[f"{question.text}_total-votes"] = sum(votes[a.text] for a in question.answers)
        row.update({f"true_{name}": value for name, value in asdict(params).items()})
        row["true_visibility"] = params.visibility
        rows.append(row)
        if progress is not None:
            progress(index + 1, n)

    catalog = pd.DataFrame(rows)
    catalog.to_csv(out_dir / CATALOG_NAME, index=False)
    catalog["file_loc"] = [str(out_dir / loc) for loc in catalog["file_loc"]]
    return catalog
