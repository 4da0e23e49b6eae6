"""The in-memory graph the embedded store loads: node views, integer-indexed edge
arrays and compressed sparse row (CSR) indexes over the traversable edges, beside
a networkx view built on demand for ad-hoc analysis.

Built two ways with identical results: from NodeView/EdgeView iterables (this
constructor; the Neo4j store's in-transaction state), or straight from the embedded
store's rows (engine.graph_build: edges kept as columns, engine.graph_columns). The
embedded store caches the built graph per generation (engine.graph_cache)."""
from __future__ import annotations

import bisect
import gc
import threading
from datetime import datetime
from functools import cached_property
from typing import Any, Iterable

import numpy as np

from . import derive
from .ids import CANONICAL_PREFIXES
from .model import EDGE_KINDS, Access, AccessFlow, EdgeKind, NodeKind
from .store.base import EdgeView, NodeView

KIND_CODES = {k.value: i for i, k in enumerate(NodeKind)}
EDGE_CODES = {k.value: i for i, k in enumerate(EdgeKind)}
EDGE_NAMES = [k.value for k in EdgeKind]
FLOW_CODES = {AccessFlow.explicit: 0, AccessFlow.inherit: 1, AccessFlow.possess: 2}
EDGE_FLOW = np.array([FLOW_CODES[EDGE_KINDS[k].flow] for k in EdgeKind], dtype=np.int8)
EDGE_TRAVERSABLE = np.array([EDGE_KINDS[k].traversable for k in EdgeKind], dtype=bool)

# Kinds of ids that appear only as an edge endpoint (e.g. a key the inventory names
# before its vendor's data is loaded), guessed from the contract's id shapes.
_TYPE_KINDS = {
    "user": NodeKind.Account, "group": NodeKind.Team, "team": NodeKind.Team,
    "organization": NodeKind.Project, "project": NodeKind.Project, "workspace": NodeKind.Project,
    "service_account": NodeKind.ServiceAccount, "service_principal": NodeKind.ServiceAccount,
    "iam_user": NodeKind.ServiceAccount, "api_key": NodeKind.Credential,
    "admin_api_key": NodeKind.Credential, "key": NodeKind.Credential, "pat": NodeKind.Credential,
    "access_key": NodeKind.Credential, "oauth_client": NodeKind.OAuthClient, "app": NodeKind.OAuthClient,
    "token": NodeKind.OAuthGrant, "oauth2_grant": NodeKind.OAuthGrant,
    "app_role_assignment": NodeKind.OAuthGrant, "grant": NodeKind.OAuthGrant,
    "installation": NodeKind.OAuthGrant, "finding": NodeKind.SecretExposure,
}


def guess_kind(node_id: str) -> NodeKind | None:
    head, _, rest = node_id.partition(":")
    if head in CANONICAL_PREFIXES:
        return CANONICAL_PREFIXES[head]
    if node_id == "github:copilot":
        return NodeKind.AITool
    typ = rest.partition(":")[0]
    return _TYPE_KINDS.get(typ)


def edge_access(kind: str, props: dict[str, Any]) -> int:
    if EDGE_KINDS[EdgeKind(kind)].flow is not AccessFlow.explicit:
        return int(Access.admin)
    # CONTAINS without a stated level does not cap; CAN_ACCESS and GRANTS default to read.
    default = Access.admin if kind == EdgeKind.CONTAINS.value else Access.read
    try:
        return int(Access.parse(props.get("access"), default))
    except ValueError:
        return int(Access.read)


NOT_EXPLICIT = frozenset(k.value for k in EdgeKind if EDGE_KINDS[k].flow is not AccessFlow.explicit)


def _edge_access_codes(edges: list[EdgeView]) -> np.ndarray:
    """edge_access for every edge, memoised on (kind, stated access): millions of
    edges carry a handful of distinct values, so each pair is parsed once."""
    admin = int(Access.admin)
    memo: dict[tuple, int] = {}
    out = np.empty(len(edges), dtype=np.int8)
    for i, e in enumerate(edges):
        kind = e.kind
        if kind in NOT_EXPLICIT:
            out[i] = admin
            continue
        value = e.properties.get("access")
        key = (kind, value if isinstance(value, (str, int, type(None))) else repr(value))
        code = memo.get(key)
        if code is None:
            code = memo[key] = edge_access(kind, {"access": value} if value is not None else {})
        out[i] = code
    return out


def latest_timestamp(props_list: list[dict[str, Any]], usage_days: Iterable = ()) -> datetime | None:
    """derive.latest_timestamp, fast: the common spelling `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)`
    is compared as text on its first 19 characters (exact to the second; only the
    values tied on the best second are parsed), anything else through
    derive.parse_ts. Same answer, a fraction of the parsing at a million nodes."""
    keys = derive.TIMESTAMP_KEYS
    usage_days = list(usage_days)
    best_sec = ""
    tied: list[str] = []
    others: list[Any] = []
    for props in props_list:
        for key in keys:
            value = props.get(key)
            if value is None:
                continue
            if (type(value) is str and len(value) >= 20 and value[10] == "T" and value[4] == "-"
                    and value[19] in ".Z+" and (value[-1] == "Z" or value.endswith("+00:00"))):
                sec = value[:19]
                if sec > best_sec:
                    best_sec, tied = sec, [value]
                elif sec == best_sec:
                    tied.append(value)
            else:
                others.append(value)
    if tied and derive.parse_ts(tied[0]) is None:
        # A malformed value won the text comparison: parse everything the slow way.
        return derive.latest_timestamp(props_list, usage_days)
    best = derive.latest_timestamp([], usage_days)
    for value in others + tied:
        ts = derive.parse_ts(value)
        if ts is not None and (best is None or ts > best):
            best = ts
    return best


def kind_lists(ids: list[str], kinds: np.ndarray, sub: np.ndarray, table: list[str]) -> dict[str, list[str]]:
    """{kind: ids of that kind, in id order}, keys in kind-code order, then first
    appearance (node i's kind name is table[sub[i]]; ids are sorted, so each kind's
    list is a gather)."""
    out: dict[str, list[str]] = {}
    take = ids.__getitem__
    for code in np.unique(kinds).tolist():
        idx = np.nonzero(kinds == code)[0]
        names = sub[idx]
        uniq, first = np.unique(names, return_index=True)
        for name in uniq[np.argsort(first)].tolist():
            pick = idx if len(uniq) == 1 else idx[names == name]
            out.setdefault(table[name], []).extend(map(take, pick.tolist()))
    return out


class CSR:
    """Neighbours of node i are indices[indptr[i]:indptr[i+1]]; eids maps back to edges."""
    __slots__ = ("indptr", "indices", "eids")

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray, eids: np.ndarray):
        # One stable sort on a combined (src, dst) key: the order lexsort((dst, src))
        # gives, at a fraction of its cost on millions of edges.
        key = src.astype(np.int64) * max(n, 1) + dst
        order = np.argsort(key, kind="stable")
        self.indices = dst[order].astype(np.int32)
        self.eids = eids[order].astype(np.int64)
        counts = np.bincount(src, minlength=n) if len(src) else np.zeros(n, dtype=np.int64)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])


def _stub(node_id: str) -> NodeView:
    kind = guess_kind(node_id)
    return NodeView(id=node_id, kind=(kind or NodeKind.Account).value, name=None,
                    active=True, properties={"stub": True}, sources=[])


class MemoryGraph:
    def __init__(self, nodes: Iterable[NodeView], edges: Iterable[EdgeView],
                 usage_days: Iterable = ()):
        views: dict[str, NodeView] = {}
        removed: set[str] = set()
        for n in nodes:
            if n.removed_at is None:
                views[n.id] = n
            else:
                removed.add(n.id)
        # An edge to a node its sources removed goes with it (no stub resurrects it).
        # (Always a new list: the caller's is never extended with derived edges.)
        if removed:
            edge_list = [e for e in edges if e.src not in removed and e.dst not in removed]
        else:
            edge_list = list(edges)
        from .linking import derived_edges
        edge_list.extend(derived_edges(views, edge_list))
        for e in edge_list:
            if e.src not in views:
                views[e.src] = _stub(e.src)
            if e.dst not in views:
                views[e.dst] = _stub(e.dst)
        ids = sorted(views)
        index = {nid: i for i, nid in enumerate(ids)}
        view_list = [views[i] for i in ids]
        del views
        n_e = len(edge_list)
        e_src = np.fromiter((index[e.src] for e in edge_list), dtype=np.int32, count=n_e)
        e_dst = np.fromiter((index[e.dst] for e in edge_list), dtype=np.int32, count=n_e)
        e_kind = np.fromiter((EDGE_CODES[e.kind] for e in edge_list), dtype=np.int8, count=n_e)
        self._assemble(ids, index, view_list, edge_list, e_src, e_dst, e_kind,
                       _edge_access_codes(edge_list), usage_days)

    def _assemble(self, ids: list[str], index: dict[str, int], views, edges, e_src: np.ndarray,
                  e_dst: np.ndarray, e_kind: np.ndarray, e_access: np.ndarray, usage_days,
                  lap=lambda name: None, as_of=None, as_of_known: bool = False) -> None:
        """Everything after the node set and edge columns are known: kinds, "now",
        derived status, CSR indexes, kind lists. `views` must be materialised NodeViews
        (status derivation rewrites some); `edges` any sequence of EdgeViews."""
        self.ids: list[str] = ids
        self.index: dict[str, int] = index
        self.views = views
        kind_codes = KIND_CODES
        names = [v.kind for v in self.views]
        self.kinds = np.fromiter((kind_codes.get(k, 0) for k in names), dtype=np.int8, count=len(names))
        # each node's kind name as an index into the distinct names (kind lists, cache)
        table: dict[str, int] = {}
        self.kind_sub = np.fromiter((table.setdefault(k, len(table)) for k in names), dtype=np.int16,
                                    count=len(names))
        self.kind_table = list(table)
        del names
        self.edges = edges
        self.e_src, self.e_dst, self.e_kind, self.e_access = e_src, e_dst, e_kind, e_access
        # (`as_of_known`: the caller computed it from the same views beforehand)
        self.as_of: datetime | None = as_of if as_of_known else latest_timestamp(
            [v.properties for v in self.views], usage_days)
        lap("now")
        # The CSR indexes are numpy sorts (which release the GIL): built on another
        # thread while this one derives status in Python.
        csr: dict = {}
        worker = threading.Thread(target=self._csr_indexes, args=(csr,), name="graph-csr")
        worker.start()
        try:
            self._derive()
            lap("status")
            self.by_kind = kind_lists(self.ids, self.kinds, self.kind_sub, self.kind_table)
            lap("kind lists")
        finally:
            worker.join()
        if "error" in csr:
            raise csr["error"]
        self.fwd, self.rev, self.out_all, self.in_all = csr["fwd"], csr["rev"], csr["out_all"], csr["in_all"]
        lap("csr (rest)")

    def _csr_indexes(self, out: dict) -> None:
        try:
            n_e, n = len(self.e_src), len(self.ids)
            trav = np.nonzero(EDGE_TRAVERSABLE[self.e_kind])[0] if n_e else np.zeros(0, dtype=np.int64)
            out["fwd"] = CSR(n, self.e_src[trav], self.e_dst[trav], trav)
            out["rev"] = CSR(n, self.e_dst[trav], self.e_src[trav], trav)
            all_e = np.arange(n_e, dtype=np.int64)
            out["out_all"] = CSR(n, self.e_src, self.e_dst, all_e)
            out["in_all"] = CSR(n, self.e_dst, self.e_src, all_e)
        except BaseException as exc:      # re-raised on the building thread
            out["error"] = exc

    @classmethod
    def from_store(cls, store) -> "MemoryGraph":
        last_day = getattr(store, "last_usage_day", None)
        if last_day is not None:
            day = last_day()
            days = [day] if day is not None else []
        else:
            days = sorted({u.day for u in store.usage()}) if hasattr(store, "usage") else []
        # Millions of new dicts and views would trigger the cyclic GC over and over
        # (each full pass walks everything built so far); none of them form cycles
        # that need it, so it is paused for the build.
        paused = gc.isenabled()
        gc.disable()
        try:
            if hasattr(store, "raw_edge_rows"):
                # The embedded store: straight from its rows, edges kept as columns.
                from .graph_build import build
                graph = build(store, days[-1:] if days else [], getattr(store, "build_phases", None))
            else:
                graph = cls(store.iter_nodes(include_removed=True), store.iter_edges(),
                            days[-1:] if days else [])
        finally:
            if paused:
                gc.enable()
        # The graph lives until the next generation and holds no reference cycles:
        # moving it out of the collector's generations (refcounting still frees it)
        # spares every later query the collector rescanning millions of objects.
        gc.freeze()
        return graph

    # --- derived state ------------------------------------------------------
    def _derive(self) -> None:
        """Status and activity no source states. self.derived_views: the indexes of the
        views it rewrote (the graph build reuses what it serialised of the others)."""
        # Only the edges that matter are visited in Python: numpy picks them out.
        person_code = KIND_CODES[NodeKind.Person.value]
        has_account = EDGE_CODES[EdgeKind.HAS_ACCOUNT.value]
        views = self.views
        accounts: dict[int, list] = {}
        pick = np.nonzero((self.e_kind == has_account) & (self.kinds[self.e_src] == person_code))[0]
        for s, d in zip(self.e_src[pick].tolist(), self.e_dst[pick].tolist()):
            v = views[d]
            accounts.setdefault(s, []).append((v.id, v.active, v.properties))
        cred_code = KIND_CODES[NodeKind.Credential.value]
        changed: list[int] = []
        self.derived_views = changed
        for i in np.nonzero(self.kinds == person_code)[0].tolist():
            v = views[i]
            if v.kind != NodeKind.Person.value:
                continue
            changed.append(i)
            status, deactivated = derive.person_status(accounts.get(i, []))
            v.properties = {**v.properties, "status": status}
            if deactivated:
                v.properties["deactivated_at"] = deactivated
            v.active = status == "active" and v.removed_at is None
        for i in np.nonzero(self.kinds == cred_code)[0].tolist():
            v = views[i]
            if v.kind == NodeKind.Credential.value and v.active:
                reason = derive.credential_inactive_reason(v.properties, self.as_of)
                if reason:
                    v.active = False
                    v.properties = {**v.properties, "inactive_reason": reason}
                    changed.append(i)
        # A credential of an archived project or workspace is inactive.
        project_code = KIND_CODES[NodeKind.Project.value]
        pick = np.nonzero((self.kinds[self.e_src] == cred_code) & (self.kinds[self.e_dst] == project_code))[0]
        for s, d in zip(self.e_src[pick].tolist(), self.e_dst[pick].tolist()):
            cv, pv = views[s], views[d]
            state = str(pv.properties.get("status", "")).lower()
            if cv.active and (not pv.active or state in derive.INACTIVE_PROJECT_STATES):
                cv.active = False
                cv.properties = {**cv.properties, "inactive_reason": f"project {pv.id} {state or 'inactive'}"}
                changed.append(s)

    # --- lookups ------------------------------------------------------------
    def node_view(self, node_id: str) -> NodeView | None:
        i = self.index.get(node_id)
        return None if i is None else self.views[i]

    def list_nodes(self, kind: str | None, offset: int, limit: int) -> tuple[list[NodeView], int]:
        ids = self.ids if kind is None else self.by_kind.get(kind, [])
        page = ids[offset:offset + limit]
        return [self.views[self.index[i]] for i in page], len(ids)

    def first_index_after(self, kind: str | None, after_id: str) -> int:
        ids = self.ids if kind is None else self.by_kind.get(kind, [])
        return bisect.bisect_right(ids, after_id)

    def out_edges(self, node_id: str, kinds: set[str] | None = None) -> list[EdgeView]:
        i = self.index.get(node_id)
        if i is None:
            return []
        eids = self.out_all.eids[self.out_all.indptr[i]:self.out_all.indptr[i + 1]]
        out = [self.edges[e] for e in eids.tolist()]
        return [e for e in out if kinds is None or e.kind in kinds]

    def in_edges(self, node_id: str, kinds: set[str] | None = None) -> list[EdgeView]:
        i = self.index.get(node_id)
        if i is None:
            return []
        eids = self.in_all.eids[self.in_all.indptr[i]:self.in_all.indptr[i + 1]]
        out = [self.edges[e] for e in eids.tolist()]
        return [e for e in out if kinds is None or e.kind in kinds]

    @cached_property
    def nx(self):
        """A networkx MultiDiGraph of the same data, for ad-hoc analysis and baselines."""
        import networkx as nx
        g = nx.MultiDiGraph()
        for v in self.views:
            g.add_node(v.id, kind=v.kind, active=v.active)
        for e in self.edges:
            g.add_edge(e.src, e.dst, key=e.kind, kind=e.kind, **{"access": e.properties.get("access")})
        return g

    def __len__(self) -> int:
        return len(self.ids)
