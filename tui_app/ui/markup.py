"""The one way text we did not write reaches a widget: never as Textual markup.

Prompt names, parameter values, model ids and settings, file names, error messages, model output,
theme names and dataset cells may hold ``[``. Textual parses a ``str`` given to a Static, a
Label, an Option, a Button, a border title or a notification as content markup, and
``textual.markup.escape`` only guards ``[`` before a lowercase letter, ``#``, ``/`` or ``@``: ``[2``
and ``[WIP]`` are still read as tags (a crash, or text that vanishes), ``[@click=...]`` as an
action. So the app never builds markup from such text: :func:`styled` fills ``$name``
placeholders of a markup template with the values as plain text (the template is ours; the
values are never parsed), and :func:`plain` wraps text as :class:`Content` (never parsed).
"""

from __future__ import annotations

from textual.content import Content


def plain(text: str) -> Content:
    """``text`` as it is: no markup is read from it."""
    return Content(text)


def styled(template: str, **values: object) -> Content:
    """``template`` (our own markup) with each ``$name`` replaced by ``values[name]`` verbatim.

    >>> styled("Compare [b]$name[/b]", name="hoods [2").plain
    'Compare hoods [2'
    """
    return Content.from_markup(template, **{k: str(v) for k, v in values.items()})


def escape_markup(text: str) -> str:
    """``text`` as Textual markup that reads back as ``text``: for the few APIs that take only a
    markup ``str`` (the command palette's help line). Textual reads every ``[`` not preceded by
    a backslash as the start of a tag, and ``\\[`` as ``[``: so each ``[`` gets a backslash
    (a backslash the user wrote before ``[`` stays, as ``\\\\[`` reads back as ``\\[``).

    >>> Content.from_markup(escape_markup("see [2 [/dim] \\\\[b]")).plain
    'see [2 [/dim] \\\\[b]'
    """
    return text.replace("[", "\\[")
