"""The synthetic survey's one exception, raised for arguments it cannot use."""

from __future__ import annotations


class SurveyError(ValueError):
    """A synthetic-survey argument is invalid; the message says which and what to use instead."""
