"""Rendering a synthetic galaxy as a DECaLS-like g, r, z colour cutout (:func:`render_galaxy`).

Surface brightness is kept per pixel at a reference size, so the same galaxy looks the same at 64 or
256 pixels. Fluxes are in nanomaggies (magnitude 22.5 is one nanomaggy), as in the Legacy Surveys.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from zoobot.survey.morphology import _REFERENCE_SIZE, Artifact, GalaxyParams

_ZERO_POINT = 22.5  # magnitude of one nanomaggy
_RGB_SCALES = 0.5 * np.array([6.0, 3.4, 2.2])  # g, r, z multipliers before the asinh stretch
_ASINH_Q = 20.0
_ASINH_FLOOR = 0.012  # keeps the sky dark grey rather than pure black, as in DECaLS cutouts
_SKY_NOISE = np.array([0.009, 0.013, 0.024])  # g, r, z: nanomaggies per pixel
_PITCH_DEGREES = {"tight": (8.0, 13.0), "medium": (15.0, 21.0), "loose": (25.0, 34.0)}


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


def _draw_disk_galaxy(
    canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float, rng: np.random.Generator
) -> None:
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
    canvas.add(_sersic(np.hypot(xr, yr / bulge_q), bulge_radius, p.sersic_n), p.bulge_to_total * flux, p.bulge_colour)

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
        canvas.add(np.clip(1 - rb2, 0, None) ** 0.8, p.bar_fraction * flux, 0.6 * p.bulge_colour + 0.4 * p.disk_colour)

    if p.arm_count > 0:
        m = p.arm_count if p.arm_count <= 4 else int(rng.integers(5, 8))
        pitch = math.radians(rng.uniform(*_PITCH_DEGREES[p.arm_winding]))
        start = bar_length if p.bar != "none" else max(bulge_radius * 1.5, 0.35 * p.radius)
        phase0 = bar_angle if p.bar != "none" else rng.uniform(0, 2 * np.pi)
        log_r = np.log(np.maximum(rd, 1e-4) / start) / math.tan(pitch)
        sharpness = 4.0 if m <= 3 else 2.5
        pattern = ((1 + np.cos(m * (theta - log_r - phase0))) / 2) ** sharpness
        envelope = np.exp(-rd / (1.25 * scale_length)) * (1 - np.exp(-((rd / start) ** 3)))
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
        canvas.add_points(x0 + kx * c - ky * s, y0 + kx * s + ky * c, knot_flux, p.disk_colour - 0.15)

    if p.ring:
        ring_radius = p.ring_radius * p.radius
        width = ring_radius * rng.uniform(0.06, 0.12)
        canvas.add(np.exp(-0.5 * ((rd - ring_radius) / width) ** 2), p.ring_fraction * flux, p.disk_colour - 0.05)


def _draw_elliptical(
    canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float, rng: np.random.Generator
) -> None:
    xr, yr = canvas.frame(x0, y0, p.position_angle)
    canvas.add(_sersic(np.hypot(xr, yr / p.axis_ratio), p.radius, p.sersic_n), p.bulge_to_total * flux, p.bulge_colour)
    if p.ring:  # a lenticular's ring, in the plane its outline suggests
        ring_radius = p.ring_radius * p.radius
        width = ring_radius * rng.uniform(0.08, 0.15)
        canvas.add(
            np.exp(-0.5 * ((np.hypot(xr, yr / p.axis_ratio) - ring_radius) / width) ** 2),
            p.ring_fraction * flux,
            p.disk_colour,
        )


def _draw_edge_on(
    canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Thin disk and bulge; returns the frame for the dust lane applied after the other sources."""
    xr, yr = canvas.frame(x0, y0, p.position_angle)
    scale_length = p.radius / 1.678
    scale_height = p.axis_ratio * p.radius * 0.8
    disk = np.exp(-np.abs(xr) / scale_length) / np.cosh(yr / scale_height) ** 2
    canvas.add(disk, (1 - p.bulge_to_total) * flux, p.disk_colour + 0.1)
    if p.edge_on_bulge == "rounded":
        bulge_radius = p.radius * rng.uniform(0.3, 0.45)
        canvas.add(_sersic(np.hypot(xr, yr / 0.85), bulge_radius, p.sersic_n), p.bulge_to_total * flux, p.bulge_colour)
    elif p.edge_on_bulge == "boxy":  # a peanut: superelliptical isophotes with a flat-topped profile
        bulge_radius = p.radius * rng.uniform(0.45, 0.6)
        box = (np.abs(xr / bulge_radius) ** 5 + np.abs(yr / (0.6 * bulge_radius)) ** 5) ** 0.2
        canvas.add(_sersic(box, 0.7, 0.7), p.bulge_to_total * flux, p.bulge_colour)
    return xr, yr


def _tidal_tail(
    canvas: _Canvas, x0: float, y0: float, start: float, length: float, angle: float, curl: float, width: float
) -> np.ndarray:
    """A curved stream leaving (x0, y0) at radius ``start`` towards ``angle``, bending by ``curl``."""
    r = np.hypot(canvas.u - x0, canvas.v - y0)
    centre = angle + curl * (r - start) / length
    offset = _wrap(np.arctan2(canvas.v - y0, canvas.u - x0) - centre) * r
    along = np.clip((r - start) / length, 0, None)
    return np.exp(-0.5 * (offset / (width * (1 + along))) ** 2) * np.exp(-along) * (1 - np.exp(-((r / start) ** 4)))


def _draw_disturbance(
    canvas: _Canvas, p: GalaxyParams, x0: float, y0: float, flux: float, rng: np.random.Generator
) -> None:
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
        canvas.add(
            _tidal_tail(canvas, x0, y0, start, p.radius * rng.uniform(1.0, 1.6), angle, curl, width),
            rng.uniform(0.03, 0.06) * flux,
            p.disk_colour + 0.2,
        )
        return
    for side, share in ((0.0, 1.0), (np.pi + rng.normal(0, 0.4), rng.uniform(0.3, 0.8))):
        length = p.radius * rng.uniform(1.6, 2.8)
        canvas.add(
            _tidal_tail(canvas, x0, y0, start, length, angle + side, curl, width),
            share * rng.uniform(0.05, 0.1) * flux,
            p.disk_colour + 0.2,
        )
    if p.disturbance == "merger":
        separation = p.radius * rng.uniform(1.0, 1.8)
        direction = angle + rng.choice([-1, 1]) * np.pi / 2
        cx = x0 + separation * math.cos(direction)
        cy = y0 + separation * math.sin(direction)
        xr, yr = canvas.frame(cx, cy, rng.uniform(0, np.pi))
        companion_q = rng.uniform(0.5, 0.95)
        canvas.add(
            _sersic(np.hypot(xr, yr / companion_q), p.radius * rng.uniform(0.4, 0.8), rng.uniform(1.0, 4.0)),
            rng.uniform(0.3, 0.9) * flux,
            rng.uniform(p.disk_colour, p.bulge_colour),
        )


def _warp(canvas: _Canvas, x0: float, y0: float, amplitude: float, radius: float, rng: np.random.Generator) -> None:
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
            canvas.add(
                _sersic(np.hypot(xr, yr / rng.uniform(0.3, 1.0)), rng.uniform(0.008, 0.02), rng.uniform(1.0, 3.0)),
                flux,
                rng.uniform(0.4, 1.2),
            )


def _draw_artifact(canvas: _Canvas, artifact: Artifact, fwhm: float, rng: np.random.Generator) -> None:
    """A saturated star with diffraction spikes, or a satellite trail (after the PSF blur)."""
    if artifact == "star":
        x0, y0 = rng.uniform(-0.3, 0.3, 2)
        du, dv = canvas.u - x0, canvas.v - y0
        alpha = fwhm * 0.9
        moffat = (1 + (du**2 + dv**2) / alpha**2) ** -2.5
        halo = (1 + (du**2 + dv**2) / (8 * alpha) ** 2) ** -1.5
        spike_width = fwhm * 0.25
        spikes = sum(
            np.exp(-np.abs(across) / spike_width) / (1 + np.abs(along) / 0.08) ** 1.5
            for across, along in ((du, dv), (dv, du))
        )
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
        tau = rng.uniform(1.0, 2.0) * np.exp(-0.5 * (yr / lane_width) ** 2) * np.exp(-np.abs(xr) / (2 * params.radius))
        canvas.bands *= np.exp(-tau[None] * np.array([1.3, 1.0, 0.6])[:, None, None])
    _draw_neighbours(canvas, rng)

    fwhm = rng.uniform(0.011, 0.018)  # in image widths: 1.4 - 2.3 pixels at 128
    for band, stretch in zip(canvas.bands, (1.08, 1.0, 0.94)):
        ndimage.gaussian_filter(band, fwhm * stretch * size / 2.355, output=band, mode="constant")
    sky = _SKY_NOISE * rng.uniform(0.8, 1.3)
    source_variance = np.clip(canvas.bands, 0, None) * 0.002
    canvas.bands += rng.standard_normal(canvas.bands.shape) * np.sqrt(sky[:, None, None] ** 2 + source_variance)
    _draw_artifact(canvas, params.artifact, fwhm, rng)
    return _to_rgb(canvas.bands)
