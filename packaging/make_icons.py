"""App icons for the bundle, drawn from the tray icon's artwork (``desktop/app/icons.py``), one size per need.

    python packaging/make_icons.py OUT_DIR

writes into OUT_DIR:
- ``devhelion.ico``: Windows (exe and shortcuts), 16-256 px in one file;
- ``devhelion.icns``: macOS (.app bundle), 16-1024 px;
- ``hicolor/<n>x<n>/apps/devhelion.png``: Linux (freedesktop icon theme, used by the .desktop launcher),
  16-512 px, and ``devhelion.png`` (256 px) for the bundle folder.

Each size is drawn at that size (the artwork is drawn large and downsampled), not scaled from one bitmap, so
small sizes stay sharp. Nothing is committed: the build script runs this before PyInstaller.
"""

from __future__ import annotations

import sys
from pathlib import Path

LINUX_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
WINDOWS_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
MAC_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def make_icons(out: Path) -> list[Path]:
    from desktop.app.icons import icon_image

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in LINUX_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / "devhelion.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        icon_image("normal", size).save(path, "PNG")
        written.append(path)
    icon_image("normal", 256).save(out / "devhelion.png", "PNG")
    written.append(out / "devhelion.png")

    largest = icon_image("normal", max(WINDOWS_SIZES))
    others = [icon_image("normal", s) for s in WINDOWS_SIZES if s != max(WINDOWS_SIZES)]
    largest.save(out / "devhelion.ico", format="ICO", sizes=[(s, s) for s in WINDOWS_SIZES], append_images=others)
    written.append(out / "devhelion.ico")

    mac = [icon_image("normal", s) for s in MAC_SIZES]
    mac[-1].save(out / "devhelion.icns", format="ICNS", append_images=mac[:-1])
    written.append(out / "devhelion.icns")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python packaging/make_icons.py OUT_DIR")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's desktop package
    for p in make_icons(Path(sys.argv[1])):
        print(p)
