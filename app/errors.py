"""Errors in plain words: what the page shows when something fails.

The library's and the app's own errors (``SchemaError``, ``CatalogError``, ``UploadError``, ...,
and plain ``ValueError``) say what is wrong and what to do; they are shown as they are, less the
server's folders. Anything else
(an ``OSError``, a pandas or torch error) is mapped to plain words: a full disk, a name too long, a
file that exists already... and an unexpected error says so without its text, which is logged. No
server path, errno text or library message reaches the page.
"""

from __future__ import annotations

import errno
import logging
import re

logger = logging.getLogger(__name__)

__all__ = ["user_message", "plain_text", "hide_server_paths"]

ERRNO_WORDS: dict[int, str] = {
    errno.ENOSPC: "the server's disk is full. Delete runs or uploads you no longer need, or try again later",
    errno.EDQUOT: "the server's disk is full. Delete runs or uploads you no longer need, or try again later",
    errno.ENAMETOOLONG: "a file or folder name is too long (over 255 characters). Shorten the names in your "
    "catalog or zip",
    errno.EEXIST: "a file of the same name is already there. Try again (a new name is chosen each time)",
    errno.ENOENT: "a file it needs is missing (it may have been deleted meanwhile). Load your catalog again",
    errno.EACCES: "the app may not read or write one of the files. Check the file's permissions",
    errno.EPERM: "the app may not read or write one of the files. Check the file's permissions",
    errno.EROFS: "the server's disk is read-only. Ask whoever runs the app to make the runs folder writable",
    errno.EMFILE: "the server has too many files open. Try again in a moment",
    errno.ENFILE: "the server has too many files open. Try again in a moment",
    errno.EIO: "the disk could not be read or written. Try again; if it keeps failing, the disk is damaged",
    errno.EISDIR: "a folder is where a file should be. Check the names in your catalog",
    errno.ENOTDIR: "a file is where a folder should be. Check the names in your catalog",
    errno.ENOMEM: "the server ran out of memory. Use fewer or smaller images, or a smaller batch size",
}
"""What an ``OSError`` means, by its errno, in words a user can act on."""

_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\][^\n]*")
# Folders the app makes on the server: a session's (random id), Gradio's upload cache (hash), the demo cache.
_SESSION_PATH = re.compile(
    r"(?:[A-Za-z]:)?[^\s'\"(]*?/sessions/[0-9a-f]{32}/(?:uploads/(?:\.?upload_\d+[^/\s'\"]*/)?"
    r"|runs/|explore/)?"
)
_GRADIO_PATH = re.compile(r"[^\s'\"(]*?/gradio/[0-9a-f]{16,}/")
_CACHE_PATH = re.compile(r"[^\s'\"(]*?/cache/(demo_survey)_\d+_\d+/")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_USER_MODULES = ("zoobot", "app")


def hide_server_paths(text: str) -> str:
    """``text`` with the server's own folders cut from every path in it: a file in a session's uploads
    is named by its path inside the upload, a run by its name, a file Gradio received by its name."""
    text = _SESSION_PATH.sub("", text)
    text = _GRADIO_PATH.sub("", text)
    return _CACHE_PATH.sub(lambda m: m.group(1).replace("_", " ") + "/", text)


def _errno_words(number: int) -> str | None:
    return ERRNO_WORDS.get(number)


def plain_text(text: str) -> str:
    """A stored error message (e.g. a run's ``progress.json``) made fit to show: an ``[Errno N] ...``
    becomes plain words, colour codes go, the server's folders are cut from paths."""
    text = _ANSI.sub("", text)

    def words(match: re.Match) -> str:
        meaning = _errno_words(int(match.group(1)))
        return f"{meaning}." if meaning else "a file could not be read or written."

    text = _ERRNO_IN_TEXT.sub(words, text)
    if "weights_only" in text:  # PyTorch's refusal of a pickle, with its advice to switch the safety off
        return "The model file is not a safe checkpoint (it holds pickled code); save it as safetensors."
    return hide_server_paths(text)


def user_message(err: BaseException) -> str:
    """What to show for ``err``: the app's and library's own errors as they are (server folders cut),
    an ``OSError`` or ``MemoryError`` in plain words, anything else as an unexpected error (logged with
    its traceback, its text not shown)."""
    if isinstance(err, OSError) and err.errno in ERRNO_WORDS:
        return f"Could not finish: {ERRNO_WORDS[err.errno]}."
    if isinstance(err, MemoryError) or "out of memory" in str(err).lower():
        return f"Could not finish: {ERRNO_WORDS[errno.ENOMEM]}."
    module = type(err).__module__ or ""
    # The app's and library's own errors, and a plain ValueError (raised with a message for the user); not
    # the subclasses other libraries define (pandas' casting errors, ...).
    if module.split(".")[0] in _USER_MODULES or module.startswith("gradio") or type(err) is ValueError:
        text = getattr(err, "message", None) if module.startswith("gradio") else None
        return plain_text(str(text if text is not None else err) or type(err).__name__)
    if isinstance(err, OSError):
        return "Could not finish: a file could not be read or written. Try again."
    logger.error("unexpected error shown to the user in plain words", exc_info=err)
    return (
        "Something went wrong that the app did not expect (the details are in the server's log). Try again; "
        "if it happens again, reload the page."
    )
