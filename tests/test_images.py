import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from zoobot.images import ImageReadError, load_image, stretch_to_uint8, verify_image


@pytest.mark.parametrize("image_format", ["png", "jpg", "fits"])
@pytest.mark.parametrize("channels", [1, 3])
def test_catalog_images_load_as_uint8_hwc(make_catalog, image_format, channels):
    df = make_catalog(n=2, size=40, image_format=image_format)
    pixels = load_image(df.file_loc[0], channels=channels)
    assert pixels.dtype == np.uint8
    assert pixels.shape == (40, 40, channels)
    assert pixels.max() > 60  # the galaxy is visible, not a black frame
    verify_image(df.file_loc[0])


def test_png_pixels_round_trip(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    assert np.array_equal(load_image(tmp_path / "a.png"), rgb)


def test_grey_becomes_rgb_and_rgba_drops_alpha(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    rgb = load_image(tmp_path / "g.png", channels=3)
    assert np.array_equal(rgb, np.repeat(grey[..., None], 3, axis=-1))
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "c.png")
    assert load_image(tmp_path / "c.png").shape == (4, 4, 3)


def test_sixteen_bit_png_keeps_brightness(tmp_path):
    data = np.full((6, 6), 65535, dtype=np.uint16)
    data[0, 0] = 0
    Image.fromarray(data).save(tmp_path / "deep.png")
    pixels = load_image(tmp_path / "deep.png", channels=1)
    assert pixels[1, 1, 0] == 255 and pixels[0, 0, 0] == 0


def test_fits_is_clipped_stretched_and_flipped(tmp_path):
    data = np.zeros((20, 30), dtype=np.float32)
    data[0, :] = 50.0  # bottom row in FITS convention
    data[5, 5] = 1e6  # a hot pixel must not flatten everything else to black
    data[10, 10] = np.nan
    fits.PrimaryHDU(data).writeto(tmp_path / "a.fits")
    pixels = load_image(tmp_path / "a.fits", channels=1)[..., 0]
    assert pixels.shape == (20, 30)
    assert pixels[-1, 15] > 200  # shown at the bottom, as a FITS viewer does
    assert pixels[10, 15] == 0 and pixels[9, 10] == 0  # background and NaN are black


def test_fits_cube_channels(tmp_path):
    cube = np.zeros((3, 16, 16), dtype=np.float32)
    cube[0] = np.linspace(0, 1, 16)[None, :]  # only the first band has signal
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube)]).writeto(tmp_path / "cube.fits")
    rgb = load_image(tmp_path / "cube.fits", channels=3)
    assert rgb.shape == (16, 16, 3)
    assert rgb[:, -1, 0].min() > 200 and rgb[..., 1].max() == 0
    assert load_image(tmp_path / "cube.fits", channels=1).shape == (16, 16, 1)


def test_jpeg_draft_decodes_near_target_size(tmp_path):
    Image.fromarray(np.full((256, 256, 3), 120, dtype=np.uint8)).save(tmp_path / "big.jpg")
    assert load_image(tmp_path / "big.jpg").shape == (256, 256, 3)
    small = load_image(tmp_path / "big.jpg", size=60)
    assert small.shape == (64, 64, 3)  # 1/4 scale: the smallest reduction still >= 60 px
    assert abs(int(small.mean()) - 120) <= 2


def test_stretch_of_flat_image_is_black():
    assert stretch_to_uint8(np.ones((4, 4))).max() == 0


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
@pytest.mark.parametrize("name", ["broken.png", "broken.jpg", "broken.fits"])
def test_unreadable_files_name_the_file(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=name):
        load_image(path)
    with pytest.raises(ImageReadError, match=name):
        verify_image(path)


def test_missing_file_is_explained(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")


def test_bad_channel_count_refused(make_catalog):
    df = make_catalog(n=1)
    with pytest.raises(ValueError, match="1 .greyscale. or 3"):
        load_image(df.file_loc[0], channels=2)
