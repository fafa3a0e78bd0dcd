"""The ``zoobot`` command: headless finetuning, prediction, calibration, what to label next, representations, surveys.

Every subcommand calls the same library functions the app uses, so a run started in the app can be
re-run here from its ``config.yaml`` (on a GPU cluster too)::

    zoobot finetune --config runs/my-run/config.yaml --accelerator gpu --devices 4 --num-nodes 2

The subcommands' handlers are in :mod:`zoobot.cli.commands`, their arguments in :mod:`zoobot.cli.parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from zoobot.cli.commands import EXIT_USER_ERROR
from zoobot.cli.parser import build_parser

__all__ = ["build_parser", "main", "EXIT_USER_ERROR"]


def _apply_machine_settings(args: argparse.Namespace) -> None:
    """Torch threads from the machine (:mod:`zoobot.machine`) or ``--threads``, for commands that compute."""
    if not hasattr(args, "threads"):
        return
    from zoobot.machine import choose_settings, machine_facts

    accelerator = "auto" if args.accelerator == "mps" else args.accelerator
    choose_settings(machine_facts(), accelerator=accelerator, devices=1, torch_threads=args.threads).apply_threads()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoobot`` console script."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        _apply_machine_settings(args)
        return handler(args)
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped early: not an error
        sys.stderr.close()
        return 0
    except ValueError as err:  # every user-facing error of the library is a ValueError subclass
        print(f"zoobot {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
