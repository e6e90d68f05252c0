"""What a model accepts besides text, from litellm's model table (read without importing litellm).

``supports_vision`` says a model takes images, ``supports_pdf_input`` PDF files. A model the
table does not know is given the benefit of the doubt (None: the server will say); the offline
models accept everything.
"""

from __future__ import annotations

from . import pricing
from .routing import is_offline, provider_of

__all__ = ["PDF_TYPES", "model_accepts"]

PDF_TYPES = frozenset({"application/pdf"})


def model_accepts(model: str, mime: str) -> bool | None:
    """Whether ``model`` takes input of type ``mime``; None when the table does not know it."""
    if is_offline(model):
        return True
    entry = pricing.entry_of(model, provider_of(model))
    if entry is None:
        return None
    flag = "supports_pdf_input" if mime in PDF_TYPES else "supports_vision"
    return bool(entry.get(flag))
