"""Tray icons drawn with Pillow at run time: one per state, so no image files need shipping or keeping in sync.

A rounded tile in the state's colour with three rising bars (usage); paused swaps the bars for a pause sign.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

STATES = ("normal", "warning", "exceeded", "paused")
COLOURS = {"normal": (37, 99, 235), "warning": (217, 119, 6), "exceeded": (220, 38, 38), "paused": (107, 114, 128)}
SIZE = 64


@lru_cache(maxsize=len(STATES))
def icon_image(state: str, size: int = SIZE) -> Image.Image:
    if state not in COLOURS:
        raise ValueError(f"unknown icon state {state!r}")
    scale = 4  # draw large, then downsample: smooth edges without antialiasing support in ImageDraw
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=(*COLOURS[state], 255))
    white = (255, 255, 255, 255)
    if state == "paused":
        w, h = big // 7, big // 2
        for x in (big * 5 // 16, big * 9 // 16):
            draw.rounded_rectangle((x, (big - h) // 2, x + w, (big + h) // 2), radius=w // 3, fill=white)
    else:
        bar = big // 7
        bottom = big * 13 // 16
        for i, height in enumerate((0.28, 0.45, 0.62)):
            x = big * 3 // 16 + i * (bar + big // 14)
            draw.rounded_rectangle((x, bottom - int(big * height), x + bar, bottom), radius=bar // 3, fill=white)
        if state in ("warning", "exceeded"):
            r = big // 7
            cx, cy = big * 13 // 16, big * 5 // 16
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=white)
            draw.rectangle((cx - r // 5, cy - r * 3 // 5, cx + r // 5, cy + r // 6), fill=(*COLOURS[state], 255))
            draw.ellipse((cx - r // 5, cy + r * 2 // 6, cx + r // 5, cy + r * 2 // 6 + r * 2 // 5),
                         fill=(*COLOURS[state], 255))
    return image.resize((size, size), Image.LANCZOS)


def write_icon(path: Path, state: str = "normal") -> Path:
    """A PNG of the icon (notification icon, autostart entry)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    icon_image(state).save(path, "PNG")
    return path
