"""Fitting text into terminal cells: CJK and emoji take two cells, so widths are counted with
``rich.cells.cell_len`` and cropping never splits a wide character.

>>> fit("张伟 Studio", 6)
'张伟 …'
>>> fit("42", 5, "right")
'   42'
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size


def fit(text: str, width: int, align: str = "left") -> str:
    """``text`` cropped (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    text = text.replace("\n", " ")
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else "…"
    if align == "right":
        return " " * (width - length) + text
    if align == "center":
        left = (width - length) // 2
        return " " * left + text + " " * (width - length - left)
    return text + " " * (width - length)


def join_fit(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line of ``width`` cells; the left part gives way first."""
    right_len = cell_len(right)
    if right_len >= width:
        return fit(right, width)
    return fit(left, width - right_len - (1 if right else 0)) + (" " + right if right else "")
