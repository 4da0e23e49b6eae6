"""A blast radius as a static SVG picture, for the offline review report.

The same picture as the web view's (api/static/web/picture.js), drawn once on the
server: one column per depth from the source, each reach hanging off the node before
it on its shortest path, a kind's long tail in a column collapsed into one counted
group, paths through a secret stored in a data source (`STORES_SECRET`) drawn in the
second-order colour, access as the stripe colour and data sensitivity as the fill.
Everything is inline (presentation attributes, no CSS or script), so the picture
reads the same in any viewer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

GROUP_LIMIT = 5
COL_W, NODE_W, NODE_H, ROW_H, PAD = 230, 190, 34, 42, 16
ACCESS_COLOUR = {"read": "#1565c0", "write": "#b34700", "admin": "#b71c1c"}
SENSITIVITY_FILL = {"restricted": "#f4c7c7", "confidential": "#ffe0b2", "internal": "#fff6d5"}
SECOND = "#6a1b9a"
_ACCESS_RANK = {"read": 1, "write": 2, "admin": 3}
_SENS_RANK = {"restricted": 4, "confidential": 3, "internal": 2, "public": 1}


@dataclass
class Item:
    id: str
    kind: str
    depth: int
    label: str
    access: str | None = None
    sensitivity: str | None = None
    second: bool = False
    source: bool = False
    count: int = 0                      # > 0: a group standing for this many nodes
    members: list[str] = field(default_factory=list)
    x: float = 0
    y: float = 0


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[:n - 1] + "\u2026"


def blast_svg(source: dict, reaches: list[dict], sensitivity: dict[str, str]) -> str:
    """source: {id kind name}; reaches: GraphQL Reach dicts (id kind name depth access
    path pathEdges); sensitivity: data source id -> sensitivity."""
    parent: dict[str, str] = {}
    edge_kind: dict[str, str] = {}
    on_second: set[str] = set()
    second_edges: set[tuple[str, str]] = set()
    secret_edges: set[tuple[str, str]] = set()
    nodes = {source["id"]: Item(source["id"], source["kind"], 0, source.get("name") or source["id"], source=True)}
    for r in reaches:
        if r["id"] == source["id"]:
            continue
        path = r.get("path") or [source["id"], r["id"]]
        kinds = r.get("pathEdges") or []
        parent[r["id"]] = path[-2] if len(path) > 1 else source["id"]
        edge_kind[r["id"]] = kinds[-1] if kinds else ""
        nodes[r["id"]] = Item(r["id"], r["kind"], r["depth"], r.get("name") or r["id"], access=r.get("access"),
                              sensitivity=sensitivity.get(r["id"]))
        if "STORES_SECRET" in kinds:
            for i in range(len(path) - 1):
                on_second.update((path[i], path[i + 1]))
                second_edges.add((path[i], path[i + 1]))
                if kinds[i] == "STORES_SECRET":
                    secret_edges.add((path[i], path[i + 1]))
    for nid in on_second:
        if nid in nodes:
            nodes[nid].second = True

    def rank(it: Item):
        return (-(100 * it.second + 10 * _SENS_RANK.get(it.sensitivity or "", 0)
                  + 2 * _ACCESS_RANK.get(it.access or "", 0)), it.id)

    layers: dict[tuple[int, str], list[Item]] = {}
    for it in nodes.values():
        layers.setdefault((it.depth, it.kind), []).append(it)
    rep: dict[str, str] = {}
    columns: dict[int, list[Item]] = {}
    for (depth, kind), items in sorted(layers.items()):
        items.sort(key=rank)
        shown, rest = (items, []) if len(items) <= GROUP_LIMIT + 1 else (items[:GROUP_LIMIT], items[GROUP_LIMIT:])
        col = columns.setdefault(depth, [])
        for it in shown:
            rep[it.id] = it.id
            col.append(it)
        if rest:
            gid = f"group:{depth}|{kind}"
            group = Item(gid, kind, depth, f"+{len(rest)} more", count=len(rest), members=[r.id for r in rest],
                         second=any(r.second for r in rest))
            col.append(group)
            for r in rest:
                rep[r.id] = gid
    visible = {it.id: it for col in columns.values() for it in col}
    row_of: dict[str, float] = {}
    for depth in sorted(columns):
        col = columns[depth]

        def bary(it: Item) -> float:
            ids = it.members if it.count else [it.id]
            ys = [row_of[rep[parent[m]]] for m in ids if m in parent and rep.get(parent[m]) in row_of]
            return sum(ys) / len(ys) if ys else 0.0
        col.sort(key=lambda it: (bary(it), it.kind, it.count > 0, it.id))
        for i, it in enumerate(col):
            row_of[it.id] = i
    rows = max((len(c) for c in columns.values()), default=1)
    for depth, col in columns.items():
        offset = (rows - len(col)) / 2
        for i, it in enumerate(col):
            it.x, it.y = PAD + depth * COL_W, PAD + 22 + (i + offset) * ROW_H
    width = PAD * 2 + max(columns, default=0) * COL_W + NODE_W
    height = PAD * 2 + 22 + rows * ROW_H

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="blast" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="Blast radius of {escape(source["id"])}" '
           f'data-source="{escape(source["id"])}" font-family="system-ui, sans-serif">',
           f'<title>Blast radius of {escape(source["id"])}: {len(nodes) - 1} reachable</title>']
    for depth in sorted(columns):
        out.append(f'<text x="{PAD + depth * COL_W}" y="{PAD + 6}" font-size="11" font-weight="600" '
                   f'fill="#4a4a4a">{"source" if depth == 0 else f"depth {depth}"}</text>')
    drawn: dict[tuple[str, str], list] = {}
    for nid, p in parent.items():
        if p not in rep or nid not in rep:
            continue
        key = (rep[p], rep[nid])
        e = drawn.setdefault(key, [0, False, False, edge_kind.get(nid, "")])
        e[0] += 1
        e[1] = e[1] or (p, nid) in second_edges
        e[2] = e[2] or (p, nid) in secret_edges
    for (a_id, b_id), (count, second, secret, kind) in sorted(drawn.items()):
        a, b = visible[a_id], visible[b_id]
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        mid = (x1 + x2) / 2
        colour, w = (SECOND, 2.6) if second else ("#7b8794", 1.3)
        dash = ' stroke-dasharray="6 3"' if secret else ""
        cls = "edge" + (" second-order" if second else "") + (" stored-secret" if secret else "")
        out.append(f'<path class="{cls}" data-from="{escape(a_id)}" data-to="{escape(b_id)}" '
                   f'd="M {x1:.0f} {y1:.0f} C {mid:.0f} {y1:.0f}, {mid:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}" '
                   f'fill="none" stroke="{colour}" stroke-width="{w}"{dash}>'
                   f'<title>{escape(kind)}{f" x{count}" if count > 1 else ""}</title></path>')
    for it in visible.values():
        stroke, sw = ((SECOND, 2.6) if it.second else ("#12263f", 2.4) if it.source else ("#5f6b7a", 1.1))
        fill = "#eceff1" if it.count else SENSITIVITY_FILL.get(it.sensitivity or "", "#ffffff")
        dash = ' stroke-dasharray="5 3"' if it.count else ""
        cls = "node" + (" group" if it.count else "") + (" second-order" if it.second else "")
        kind_line = f"{it.kind} x{it.count}" if it.count else it.kind + (f" \u00b7 {it.access}" if it.access else "")
        out.append(f'<g class="{cls}" data-id="{escape(it.id)}" transform="translate({it.x:.0f},{it.y:.0f})">'
                   f'<title>{escape(it.id)}{f" ({escape(it.label)})" if it.label != it.id else ""}</title>'
                   f'<rect width="{NODE_W}" height="{NODE_H}" rx="4" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="{sw}"{dash}/>'
                   f'<rect width="5" height="{NODE_H}" fill="{ACCESS_COLOUR.get(it.access or "", "#90a4ae")}"/>'
                   f'<text x="10" y="12" font-size="9.5" fill="#3c4654">{escape(kind_line)}</text>'
                   f'<text x="10" y="27" font-size="11.5" font-weight="600" fill="#1a1a1a">'
                   f'{escape(_short(it.label))}</text></g>')
    out.append("</svg>")
    return "".join(out)
