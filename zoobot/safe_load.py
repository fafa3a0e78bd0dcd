"""Reading checkpoint files without running code from them.

A PyTorch checkpoint is a pickle, and a pickle can hold code that runs when it is read. Every
checkpoint this package reads goes through :func:`load_checkpoint_file`, which lets PyTorch read
tensors and plain values only (``weights_only=True``) and turns its refusal into a plain
:class:`UnsafeCheckpointError`, never advice to switch the safety off.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

__all__ = ["UnsafeCheckpointError", "load_checkpoint_file"]


class UnsafeCheckpointError(ValueError):
    """A checkpoint file that cannot be read safely: it holds pickled code, or is not a checkpoint."""


def load_checkpoint_file(path: str | Path, map_location: str = "cpu") -> Any:
    """``torch.load`` of tensors and plain values only.

    Args:
        path: A ``.ckpt`` / ``.pt`` file.
        map_location: Where tensors are loaded (``'cpu'`` by default).

    Raises:
        UnsafeCheckpointError: The file holds pickled code (objects other than tensors and plain
            values), or is not a checkpoint at all (damaged, cut short, another format).
    """
    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():  # what PyTorch says of a class or function it will not import
            raise UnsafeCheckpointError(
                f"{path.name} is not a safe checkpoint (it holds pickled code); save it as safetensors "
                "(an encoder: zoobot.encoders.save_encoder writes config.json + model.safetensors)."
            ) from None
        raise UnsafeCheckpointError(f"{path.name} is not a checkpoint PyTorch can read (it is damaged, cut short "
                                    "or in another format); save it again, or as safetensors.") from None
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise UnsafeCheckpointError(f"{path.name} is not a checkpoint PyTorch can read (it is damaged, cut short "
                                    "or in another format); save it again, or as safetensors.") from err
