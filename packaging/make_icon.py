"""Draw the cxrviewer app icon: two stylised lungs, a trachea and a heat-map spot.

Writes resources/icons/cxrviewer.svg, cxrviewer.png (256 px, the .desktop icon
and the macOS source icon) and cxrviewer.ico (16-256 px, Windows). The SVG and
the raster images come from the same Bezier outlines, so they match. Run again
only to change the design:  .venv/bin/python packaging/make_icon.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PIL import Image, ImageDraw

log = logging.getLogger("make_icon")

SIZE = 256
SUPERSAMPLE = 4  # draw large, shrink with a good filter = anti-aliased edges
BACKGROUND, LUNG, AIRWAY, HOTSPOT = "#16324a", "#7fb8e0", "#e8f1f8", "#ff9f43"
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]

Point = tuple[float, float]
# Image-left lung, clockwise from the apex: (control 1, control 2, end) per cubic segment.
LUNG_START: Point = (98, 62)
LUNG_SEGMENTS: list[tuple[Point, Point, Point]] = [
    ((70, 66), (46, 120), (44, 196)),
    ((44, 212), (56, 216), (72, 210)),
    ((88, 204), (104, 198), (114, 204)),
    ((116, 160), (114, 110), (108, 72)),
    ((106, 64), (102, 61), (98, 62)),
]
AIRWAY_LINES: list[tuple[Point, Point]] = [((128, 34), (128, 104)), ((128, 104), (110, 124)), ((128, 104), (146, 124))]
AIRWAY_WIDTH = 11
HOTSPOT_CENTER, HOTSPOT_RADIUS = (168.0, 150.0), 17.0
CORNER_RADIUS = 52


def mirrored(point: Point) -> Point:
    return (SIZE - point[0], point[1])


def lung_outlines() -> list[tuple[Point, list[tuple[Point, Point, Point]]]]:
    right = (mirrored(LUNG_START), [tuple(mirrored(p) for p in seg) for seg in LUNG_SEGMENTS])
    return [(LUNG_START, LUNG_SEGMENTS), right]


def bezier_points(start: Point, segments, steps: int = 24) -> list[Point]:
    points, current = [start], start
    for c1, c2, end in segments:
        for i in range(1, steps + 1):
            t = i / steps
            u = 1 - t
            points.append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
                                for a, b, c, d in zip(current, c1, c2, end)))
        current = end
    return points


def svg() -> str:
    def fmt(p: Point) -> str:
        return f"{p[0]:g},{p[1]:g}"

    paths = []
    for start, segments in lung_outlines():
        d = f"M{fmt(start)} " + " ".join(f"C{fmt(a)} {fmt(b)} {fmt(c)}" for a, b, c in segments) + " Z"
        paths.append(f'  <path d="{d}" fill="{LUNG}"/>')
    airway = " ".join(f"M{fmt(a)} L{fmt(b)}" for a, b in AIRWAY_LINES)
    cx, cy = HOTSPOT_CENTER
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">',
        "  <title>cxrviewer</title>",
        f'  <rect width="{SIZE}" height="{SIZE}" rx="{CORNER_RADIUS}" fill="{BACKGROUND}"/>',
        *paths,
        f'  <path d="{airway}" stroke="{AIRWAY}" stroke-width="{AIRWAY_WIDTH}" stroke-linecap="round" fill="none"/>',
        f'  <circle cx="{cx:g}" cy="{cy:g}" r="{HOTSPOT_RADIUS:g}" fill="{HOTSPOT}" fill-opacity="0.9"/>',
        "</svg>",
        "",
    ])


def raster() -> Image.Image:
    s = SUPERSAMPLE
    big = Image.new("RGBA", (SIZE * s, SIZE * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    draw.rounded_rectangle((0, 0, SIZE * s - 1, SIZE * s - 1), radius=CORNER_RADIUS * s, fill=BACKGROUND)
    for start, segments in lung_outlines():
        draw.polygon([(x * s, y * s) for x, y in bezier_points(start, segments)], fill=LUNG)
    for a, b in AIRWAY_LINES:
        draw.line([(a[0] * s, a[1] * s), (b[0] * s, b[1] * s)], fill=AIRWAY, width=AIRWAY_WIDTH * s)
        for x, y in (a, b):  # round caps, as in the SVG
            r = AIRWAY_WIDTH * s / 2
            draw.ellipse((x * s - r, y * s - r, x * s + r, y * s + r), fill=AIRWAY)
    hot = Image.new("RGBA", big.size, (0, 0, 0, 0))
    cx, cy = HOTSPOT_CENTER
    r = HOTSPOT_RADIUS * s
    ImageDraw.Draw(hot).ellipse((cx * s - r, cy * s - r, cx * s + r, cy * s + r), fill=HOTSPOT + "e6")
    big = Image.alpha_composite(big, hot)
    return big.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "cxrviewer.svg").write_text(svg(), encoding="utf-8")
    image = raster()
    image.save(out_dir / "cxrviewer.png", optimize=True)
    image.save(out_dir / "cxrviewer.ico", sizes=ICO_SIZES)
    log.info("wrote cxrviewer.svg, .png and .ico to %s", out_dir)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main(Path(__file__).resolve().parent.parent / "resources" / "icons"))
