/* burnpath web views: the blast-radius picture, a layered SVG drawn from a traversal's
   reaches (the GraphQL `Reach` list: id kind name depth access path pathEdges).

   Layers are depth (the source at the left, one column per hop). Each reach hangs
   off the node before it on its shortest path. Within a column, nodes of one kind
   beyond GROUP_LIMIT collapse into a group node that shows the count (the long
   tail); clicking it expands it. Reaches whose path goes through a secret stored in
   a data source (`STORES_SECRET`) are second-order: their whole path is drawn in
   the second-order colour. Access level colours a node's stripe, data sensitivity
   its fill. Hover or focus shows the evidence path and $/hour exposure. */
(function (B) {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var GROUP_LIMIT = 6;        // nodes of one kind shown per column before the rest collapse
  var EXPANDED_LIMIT = 200;   // an expanded group shows this many, then collapses the rest again
  var COL_W = 250, NODE_W = 200, NODE_H = 36, ROW_H = 46, PAD = 24;
  var ACCESS_RANK = { read: 1, write: 2, admin: 3 };
  var SENS_RANK = { restricted: 4, confidential: 3, internal: 2, "public": 1 };

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function short(text, n) {
    text = text || "";
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  /* The model: every reach as a node with its parent, plus which are second-order. */
  function buildModel(source, reaches, extra, reverse) {
    extra = extra || {};
    var nodes = {};
    nodes[source.id] = { id: source.id, kind: source.kind, name: source.name, depth: 0, access: null,
                         path: [source.id], pathEdges: [], parent: null, source: true };
    reaches.forEach(function (r) {
      if (r.id === source.id) { return; }
      // A blast radius path runs source -> reach; a who-can-reach path runs reacher -> target.
      var path = r.path || (reverse ? [r.id, source.id] : [source.id, r.id]);
      var edges = r.pathEdges || [];
      nodes[r.id] = { id: r.id, kind: r.kind, name: r.name, depth: r.depth, access: r.access,
                      active: r.active, path: path, pathEdges: edges,
                      parent: path.length > 1 ? (reverse ? path[1] : path[path.length - 2]) : source.id,
                      edgeKind: (reverse ? edges[0] : edges[edges.length - 1]) || null };
    });
    var secondNodes = {}, secondEdges = {}, secretEdges = {};
    Object.keys(nodes).forEach(function (id) {
      var n = nodes[id];
      var at = n.pathEdges.indexOf("STORES_SECRET");
      n.secondOrder = at >= 0;
      if (at < 0) { return; }
      for (var i = 0; i + 1 < n.path.length; i++) {
        // Keyed as the picture's tree edge: from the node nearer the start of the walk.
        var key = reverse ? n.path[i + 1] + "\u0000" + n.path[i] : n.path[i] + "\u0000" + n.path[i + 1];
        secondNodes[n.path[i]] = true;
        secondNodes[n.path[i + 1]] = true;
        secondEdges[key] = true;
        if (n.pathEdges[i] === "STORES_SECRET") { secretEdges[key] = true; }
      }
    });
    Object.keys(nodes).forEach(function (id) {
      nodes[id].onSecondPath = !!secondNodes[id];
      nodes[id].sensitivity = (extra.sensitivity || {})[id] || null;
      nodes[id].exposure = (extra.exposure || {})[id] || null;
    });
    return { source: source, nodes: nodes, secondEdges: secondEdges, secretEdges: secretEdges, reverse: !!reverse };
  }

  /* How a node ranks for staying visible when its kind collapses. */
  function weight(n) {
    return (n.onSecondPath ? 100 : 0) + (SENS_RANK[n.sensitivity] || 0) * 10 +
           (ACCESS_RANK[n.access] || 0) * 2 + (n.exposure ? 5 : 0) + (n.active === false ? -1 : 0);
  }

  /* Columns of visible items: nodes, and groups standing for the collapsed rest. */
  function layout(model, expanded) {
    var byLayer = {};
    Object.keys(model.nodes).forEach(function (id) {
      var n = model.nodes[id];
      var key = n.depth + "|" + n.kind;
      (byLayer[key] = byLayer[key] || []).push(n);
    });
    var rep = {};          // node id -> id of the visible item standing for it
    var items = {};        // visible item id -> item
    var columns = {};
    Object.keys(byLayer).forEach(function (key) {
      var list = byLayer[key].slice().sort(function (a, b) {
        return weight(b) - weight(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
      var limit = expanded[key] ? EXPANDED_LIMIT : GROUP_LIMIT;
      var shown = list.length > limit + 1 ? list.slice(0, limit) : list;
      var rest = list.length > limit + 1 ? list.slice(limit) : [];
      var depth = list[0].depth;
      columns[depth] = columns[depth] || [];
      shown.forEach(function (n) {
        var item = { id: n.id, node: n, depth: depth, kind: n.kind };
        items[n.id] = item; rep[n.id] = n.id; columns[depth].push(item);
      });
      if (rest.length) {
        var gid = "group:" + key;
        var g = { id: gid, group: true, key: key, depth: depth, kind: list[0].kind, members: rest,
                  onSecondPath: rest.some(function (n) { return n.onSecondPath; }) };
        items[gid] = g; columns[depth].push(g);
        rest.forEach(function (n) { rep[n.id] = gid; });
      }
    });
    // Edges between visible items (a group's edges stand for its members'), deduplicated.
    var edges = {};
    Object.keys(model.nodes).forEach(function (id) {
      var n = model.nodes[id];
      if (!n.parent || !model.nodes[n.parent]) { return; }
      var a = rep[n.parent], b = rep[id];
      var key = a + "\u0000" + b;
      var e = edges[key] || (edges[key] = { from: a, to: b, count: 0, kinds: {}, second: false, secret: false,
                                           sample: n });
      e.count += 1;
      if (n.edgeKind) { e.kinds[n.edgeKind] = true; }
      if (model.secondEdges[n.parent + "\u0000" + id]) { e.second = true; }
      if (model.secretEdges[n.parent + "\u0000" + id]) { e.secret = true; }
    });
    // Order each column by where its parents sit (fewer crossings), then by kind.
    var depths = Object.keys(columns).map(Number).sort(function (a, b) { return a - b; });
    var y = {};
    depths.forEach(function (d) {
      var col = columns[d];
      col.forEach(function (item) {
        var parents = item.group ? item.members.map(function (m) { return rep[m.parent]; })
                                 : [rep[item.node.parent]];
        var ys = parents.filter(function (p) { return p && y[p] !== undefined; }).map(function (p) { return y[p]; });
        item.bary = ys.length ? ys.reduce(function (s, v) { return s + v; }, 0) / ys.length : 0;
      });
      col.sort(function (a, b) {
        return a.bary - b.bary || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) ||
               (a.group ? 1 : 0) - (b.group ? 1 : 0) || (a.id < b.id ? -1 : 1);
      });
      col.forEach(function (item, i) { item.row = i; y[item.id] = i; });
    });
    var rows = Math.max.apply(null, depths.map(function (d) { return columns[d].length; }).concat([1]));
    depths.forEach(function (d) {
      var col = columns[d];
      var offset = (rows - col.length) / 2;   // centre short columns
      col.forEach(function (item) {
        item.x = PAD + d * COL_W;
        item.y = PAD + 28 + (item.row + offset) * ROW_H;
      });
    });
    return { items: items, edges: Object.keys(edges).map(function (k) { return edges[k]; }), depths: depths,
             width: PAD * 2 + (depths.length ? depths[depths.length - 1] : 0) * COL_W + NODE_W,
             height: PAD * 2 + 28 + rows * ROW_H };
  }

  function evidenceText(n) {
    var parts = [];
    for (var i = 0; i < n.path.length; i++) {
      parts.push(n.path[i]);
      if (i < n.pathEdges.length) { parts.push("\u2014" + n.pathEdges[i] + "\u2192"); }
    }
    return parts.join(" ");
  }

  function describe(n) {
    var lines = [n.kind + " " + n.id + (n.name ? " (" + n.name + ")" : "")];
    if (!n.source) {
      lines.push("depth " + n.depth + ", " + n.access + " access" + (n.active === false ? ", inactive" : ""));
    }
    if (n.sensitivity) { lines.push("data sensitivity: " + n.sensitivity); }
    if (n.exposure) { lines.push("exposure: $" + n.exposure.toFixed(2) + "/hour"); }
    if (n.secondOrder) { lines.push("second-order: reached through a secret stored in a data source"); }
    if (!n.source) { lines.push("evidence path: " + evidenceText(n)); }
    return lines;
  }

  /* Draw into `container` (emptied). opts: onOpen(id) (re-centre), onDetails(lines),
     reverse (who can reach), expanded (set of group keys, kept across redraws). */
  function render(container, model, opts) {
    opts = opts || {};
    var expanded = opts.expanded || {};
    var lay = layout(model, expanded);
    container.textContent = "";
    var svg = el("svg", { "class": "picture", role: "group", width: lay.width, height: lay.height,
                          viewBox: "0 0 " + lay.width + " " + lay.height,
                          "aria-label": (opts.reverse ? "Who can reach " : "Blast radius of ") + model.source.id },
                 container);
    var defs = el("defs", {}, svg);
    [["arrow", "edge-arrow"], ["arrow-second", "edge-arrow second"]].forEach(function (m) {
      var marker = el("marker", { id: m[0], viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "9",
                                  markerHeight: "9", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
      el("path", { d: "M 0 0 L 10 5 L 0 10 z", "class": m[1] }, marker);
    });
    lay.depths.forEach(function (d) {
      var t = el("text", { x: PAD + d * COL_W, y: PAD + 8, "class": "layer-label" }, svg);
      t.textContent = d === 0 ? (opts.reverse ? "target" : "source") : "depth " + d;
    });
    var edgeLayer = el("g", { "class": "edges" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);
    lay.edges.forEach(function (e) {
      var a = lay.items[e.from], b = lay.items[e.to];
      if (!a || !b) { return; }
      var x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      var mid = (x1 + x2) / 2;
      var cls = "edge" + (e.second ? " second-order" : "") + (e.secret ? " stored-secret" : "");
      var g = el("g", { "class": cls, "data-from": e.from, "data-to": e.to }, edgeLayer);
      var d = "M " + x1 + " " + y1 + " C " + mid + " " + y1 + ", " + mid + " " + y2 + ", " + x2 + " " + y2;
      el("path", { d: d, "class": "edge-hit" }, g);
      // Arrows follow the graph's edges: outwards for a blast radius, inwards (towards
      // the target) for who can reach it.
      var line = el("path", { d: d, "class": "edge-line" }, g);
      line.setAttribute(model.reverse ? "marker-start" : "marker-end", e.second ? "url(#arrow-second)" : "url(#arrow)");
      var kinds = Object.keys(e.kinds).join(", ");
      var title = el("title", {}, g);
      title.textContent = (kinds || "edge") + (e.count > 1 ? " \u00d7" + e.count : "") + "\n" +
        "evidence: " + evidenceText(e.sample);
      if (e.count > 1) {
        var label = el("text", { x: mid, y: (y1 + y2) / 2 - 4, "class": "edge-count" }, g);
        label.textContent = "\u00d7" + e.count;
      }
    });
    Object.keys(lay.items).forEach(function (id) {
      var item = lay.items[id];
      var n = item.node;
      var cls = ["node", "kind-" + item.kind];
      if (item.group) { cls.push("group"); }
      if (n && n.source) { cls.push("source"); }
      if (n && n.access) { cls.push("access-" + n.access); }
      if (n && n.sensitivity) { cls.push("sens-" + n.sensitivity); }
      if ((n && n.onSecondPath) || (item.group && item.onSecondPath)) { cls.push("second-order"); }
      if (n && n.active === false) { cls.push("inactive"); }
      var g = el("g", { "class": cls.join(" "), transform: "translate(" + item.x + "," + item.y + ")",
                        tabindex: "0", role: "button", "data-id": id, "data-kind": item.kind,
                        "data-depth": String(item.depth) }, nodeLayer);
      if (n) {
        g.setAttribute("data-access", n.access || "");
        if (n.secondOrder) { g.setAttribute("data-second-order", "true"); }
      }
      el("rect", { width: NODE_W, height: NODE_H, rx: "5", "class": "node-box" }, g);
      el("rect", { width: "6", height: NODE_H, rx: "2", "class": "node-stripe" }, g);
      var kindText = el("text", { x: "12", y: "13", "class": "node-kind" }, g);
      var label = el("text", { x: "12", y: "29", "class": "node-label" }, g);
      var title = el("title", {}, g);
      var lines;
      if (item.group) {
        kindText.textContent = item.kind + " \u00d7" + item.members.length;
        label.textContent = "+" + item.members.length + " more (expand)";
        lines = [item.members.length + " more " + item.kind + " at depth " + item.depth,
                 "first: " + item.members.slice(0, 5).map(function (m) { return m.id; }).join(", ")];
        g.setAttribute("aria-label", "Expand " + item.members.length + " more " + item.kind + " at depth " + item.depth);
        g.setAttribute("data-count", String(item.members.length));
      } else {
        kindText.textContent = item.kind + (n.access ? " \u00b7 " + n.access : "") +
          (n.exposure ? " \u00b7 $" + n.exposure.toFixed(2) + "/h" : "");
        label.textContent = short(n.name || n.id, 25);
        lines = describe(n);
        g.setAttribute("aria-label", (n.source ? "" : "Re-centre on ") + n.kind + " " + (n.name || n.id));
      }
      title.textContent = lines.join("\n");
      function details() { if (opts.onDetails) { opts.onDetails(lines, item); } }
      function activate() {
        if (item.group) {
          expanded[item.key] = true;
          render(container, model, opts);
          var again = container.querySelector('[data-id="' + CSS.escape(id) + '"]') ||
                      container.querySelector('[data-kind="' + CSS.escape(item.kind) + '"][data-depth="' + item.depth + '"]');
          if (again) { again.focus(); }
        } else if (!n.source && opts.onOpen) {
          opts.onOpen(id);
        }
      }
      g.addEventListener("mouseenter", details);
      g.addEventListener("focus", details);
      g.addEventListener("click", activate);
      g.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); activate(); }
      });
    });
    opts.expanded = expanded;
    return { svg: svg, layout: lay };
  }

  /* Counts per kind (for the summary beside the picture). */
  function countsByKind(model) {
    var out = {};
    Object.keys(model.nodes).forEach(function (id) {
      var n = model.nodes[id];
      if (!n.source) { out[n.kind] = (out[n.kind] || 0) + 1; }
    });
    return out;
  }

  B.picture = { buildModel: buildModel, layout: layout, render: render, countsByKind: countsByKind,
                evidenceText: evidenceText, GROUP_LIMIT: GROUP_LIMIT };
})(window.Burnpath = window.Burnpath || {});
