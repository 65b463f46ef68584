"""The office's map without tiles: points and the province outline (inspections/data/province_outline.geojson, an
approximate hand-traced outline shipped with the project) projected to SVG coordinates.

Projection: equirectangular around the middle latitude, x = (lon − lon₀)·cos(lat₀), y = −(lat − lat₀), scaled to fit
the drawing with a margin; north is up. Over a province (≈ 100 km) the distortion is far below the outline's own
accuracy."""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

OUTLINE_FILE = Path(__file__).resolve().parent / "data" / "province_outline.geojson"
WIDTH, HEIGHT, MARGIN = 800, 640, 24


@lru_cache(maxsize=1)
def outline_rings() -> tuple[tuple[str, tuple[tuple[float, float], ...]], ...]:
    """(name, ring of (lon, lat)) for each polygon of the shipped outline."""
    data = json.loads(OUTLINE_FILE.read_text(encoding="utf-8"))
    rings = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            rings.append((feature["properties"].get("name", ""), tuple((float(x), float(y)) for x, y in polygon[0])))
    return tuple(rings)


@dataclass(frozen=True)
class Projection:
    lon0: float
    lat0: float
    scale: float  # SVG units per projected degree
    x_min: float
    y_max: float
    width: float
    height: float

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        x = (lon - self.lon0) * math.cos(math.radians(self.lat0))
        y = lat - self.lat0
        return (round(MARGIN + (x - self.x_min) * self.scale, 1), round(MARGIN + (self.y_max - y) * self.scale, 1))


def projection_fit(positions, *, width: int = WIDTH, height: int = HEIGHT) -> Projection:
    """The projection that fits the outline and every (lon, lat) of `positions` in width × height."""
    lons = [lon for _name, ring in outline_rings() for lon, _lat in ring] + [p[0] for p in positions]
    lats = [lat for _name, ring in outline_rings() for _lon, lat in ring] + [p[1] for p in positions]
    lon0, lat0 = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    k = math.cos(math.radians(lat0))
    xs, ys = [(lon - lon0) * k for lon in lons], [lat - lat0 for lat in lats]
    span_x, span_y = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
    scale = min((width - 2 * MARGIN) / span_x, (height - 2 * MARGIN) / span_y)
    return Projection(lon0=lon0, lat0=lat0, scale=scale, x_min=min(xs), y_max=max(ys),
                      width=round(span_x * scale + 2 * MARGIN), height=round(span_y * scale + 2 * MARGIN))


def outline_paths(projection: Projection) -> list[dict]:
    paths = []
    for name, ring in outline_rings():
        points = [projection.point(lon, lat) for lon, lat in ring]
        d = "M" + " L".join(f"{x},{y}" for x, y in points) + " Z"
        paths.append({"name": name, "d": d})
    return paths
