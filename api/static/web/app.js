/* burnpath web views: the router and the six views (search, blast radius, findings,
   spend, trace, risk). Each view is a function of the URL hash (#/view/<id>?k=v), so
   every state is a link; each reads the GraphQL API through Burnpath.gql. */
(function (B) {
  "use strict";
  var main, status;

  // --- small DOM helpers --------------------------------------------------------
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { node.textContent = v; } else if (k.slice(0, 2) === "on") {
        node.addEventListener(k.slice(2), v);
      } else { node.setAttribute(k, v === true ? "" : v); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function link(href, text, attrs) { return h("a", Object.assign({ href: href, text: text }, attrs || {})); }
  function usd(v) { return v === null || v === undefined ? "unpriced" : "$" + Number(v).toFixed(2); }
  function blastHref(id, reverse) { return "#/blast/" + encodeURIComponent(id) + (reverse ? "?reverse=1" : ""); }
  function traceHref(id) { return "#/trace/" + encodeURIComponent(id); }
  function say(text, isError) {
    status.textContent = text || "";
    status.className = isError ? "status error" : "status";
  }
  function fail(err) {
    say(err && err.status === 401 ? err.message + " \u2014 enter an API token above." : "Error: " + (err && err.message), true);
  }
  function heading(text) { return h("h2", { id: "view-title", tabindex: "-1", text: text }); }
  function table(headers, rows, caption) {
    var t = h("table", {}, [caption ? h("caption", { text: caption }) : null,
      h("thead", {}, [h("tr", {}, headers.map(function (x) { return h("th", { scope: "col", text: x }); }))]),
      h("tbody", {}, rows)]);
    return h("div", { "class": "table-wrap" }, [t]);
  }

  /* Performance marks of the current view (read by bench/web_blast.py). */
  function mark(name) {
    if (window.performance && performance.mark) { performance.clearMarks(name); performance.mark(name); }
  }

  // --- routing -------------------------------------------------------------------
  function parseHash() {
    var raw = location.hash.replace(/^#\/?/, "");
    var q = raw.indexOf("?");
    var path = q >= 0 ? raw.slice(0, q) : raw, query = {};
    if (q >= 0) {
      raw.slice(q + 1).split("&").forEach(function (kv) {
        if (!kv) { return; }
        var i = kv.indexOf("=");
        query[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
      });
    }
    var slash = path.indexOf("/");
    return { view: slash < 0 ? path : path.slice(0, slash),
             arg: slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1)), query: query };
  }
  function hashFor(view, arg, query) {
    var qs = Object.keys(query || {}).filter(function (k) { return query[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(query[k]); }).join("&");
    return "#/" + view + (arg ? "/" + encodeURIComponent(arg) : "") + (qs ? "?" + qs : "");
  }

  var VIEWS = {};
  function route() {
    var r = parseHash();
    var view = VIEWS[r.view] ? r.view : "search";
    document.querySelectorAll("nav a[data-view]").forEach(function (a) {
      if (a.getAttribute("data-view") === view) { a.setAttribute("aria-current", "page"); }
      else { a.removeAttribute("aria-current"); }
    });
    main.textContent = "";
    say("");
    main.setAttribute("data-view", view);
    main.setAttribute("aria-busy", "true");
    ["bp:data", "bp:drawn", "bp:painted", "bp:interactive"].forEach(function (m) {
      if (window.performance && performance.clearMarks) { performance.clearMarks(m); }
    });
    Promise.resolve(VIEWS[view](r)).catch(fail).then(function () {
      main.setAttribute("aria-busy", "false");
      main.setAttribute("data-ready", view);
      // Interactive: the view is built and the main thread has gone idle.
      var idle = window.requestIdleCallback || function (fn) { setTimeout(fn, 0); };
      idle(function () { mark("bp:interactive"); });
    });
  }

  // --- search --------------------------------------------------------------------
  var SEARCH_Q = "query Search($q: String!, $kind: String) { nodes(search: $q, kind: $kind, first: 50) " +
    "{ totalCount nodes { id kind name active } } }";
  VIEWS.search = function (r) {
    var input = h("input", { id: "search-q", type: "search", value: r.query.q || "", autocomplete: "off",
                             placeholder: "key hint or last four, email, login, id, name" });
    var kind = h("select", { id: "search-kind" }, [h("option", { value: "", text: "any kind" })].concat(
      ["Person", "Credential", "Account", "ServiceAccount", "Team", "AITool", "SaaSApp", "DataSource",
       "OAuthClient", "OAuthGrant", "Project", "SecretExposure"].map(function (k) {
        return h("option", { value: k, text: k, selected: r.query.kind === k });
      })));
    var results = h("div", { id: "search-results", "aria-live": "polite" });
    var form = h("form", { role: "search", "class": "toolbar", onsubmit: function (ev) {
      ev.preventDefault();
      location.hash = hashFor("search", "", { q: input.value.trim(), kind: kind.value });
    } }, [h("label", { "for": "search-q", text: "Search" }), input,
         h("label", { "for": "search-kind", text: "Kind" }), kind, h("button", { type: "submit", text: "Search" })]);
    main.appendChild(heading("Search identities, keys, people, teams, tools, apps and data"));
    main.appendChild(form);
    main.appendChild(results);
    input.focus();
    if (!r.query.q) { return null; }
    return B.gql(SEARCH_Q, { q: r.query.q, kind: r.query.kind || null }).then(function (d) {
      var conn = d.nodes;
      results.appendChild(h("p", { text: conn.totalCount + " match" + (conn.totalCount === 1 ? "" : "es") +
        (conn.totalCount > conn.nodes.length ? " (first " + conn.nodes.length + " shown)" : "") }));
      var rows = conn.nodes.map(function (n) {
        return h("tr", { "data-id": n.id }, [
          h("td", { text: n.kind }),
          h("td", {}, [link(blastHref(n.id), n.id, { "class": "node-link" })]),
          h("td", { text: n.name || "" }),
          h("td", { text: n.active ? "active" : "inactive" }),
          h("td", {}, [link(blastHref(n.id, true), "who can reach"),
                       n.kind === "Credential" || n.kind === "OAuthGrant" ? " \u00b7 " : null,
                       n.kind === "Credential" || n.kind === "OAuthGrant" ? link(traceHref(n.id), "trace") : null])]);
      });
      results.appendChild(table(["kind", "id", "name", "status", "more"], rows, "Search results"));
    });
  };

  // --- blast radius ----------------------------------------------------------------
  var REACH = "id kind name active depth access path pathEdges";
  var BLAST_Q = "query Blast($id: ID!, $depth: Int!) { blastRadius(id: $id, maxDepth: $depth) { " +
    "source { id kind name active } totalCount spendExposureUsdPerHour spendExposureDetail " +
    "reachable { " + REACH + " } dataSources { id properties } } }";
  var REVERSE_Q = "query Reverse($id: ID!, $depth: Int!) { node(id: $id) { id kind name active properties } " +
    "whoCanReach(id: $id, maxDepth: $depth) { " + REACH + " } }";

  function sensitivityOf(list) {
    var out = {};
    (list || []).forEach(function (d) { if (d.properties && d.properties.sensitivity) { out[d.id] = d.properties.sensitivity; } });
    return out;
  }
  function exposureOf(detail) {
    var out = {};
    ((detail && detail.credentials) || []).forEach(function (c) {
      if (c.credential) { out[c.credential] = c.usd_per_hour; }
    });
    return out;
  }

  /* The picture with its summary, legend and details panel, into `host`. */
  function drawPicture(host, source, reaches, extra, reverse) {
    var model = B.picture.buildModel(source, reaches, extra, reverse);
    var counts = B.picture.countsByKind(model);
    var details = h("div", { id: "picture-details", "class": "details", "aria-live": "polite" },
                    [h("p", { text: "Hover or focus a node or edge for its evidence path; Enter re-centres, " +
                                    "Enter on a group expands it." })]);
    var summary = h("ul", { "class": "counts", id: "picture-counts" }, Object.keys(counts).sort().map(function (k) {
      return h("li", { "data-kind": k, text: k + ": " + counts[k] });
    }));
    var holder = h("div", { "class": "picture-wrap", id: "picture" });
    host.appendChild(h("div", { "class": "picture-side" }, [summary, legend(), details]));
    host.appendChild(holder);
    var opts = {
      reverse: reverse, expanded: {},
      onOpen: function (id) { location.hash = blastHref(id, reverse); },
      onDetails: function (lines) {
        details.textContent = "";
        lines.forEach(function (line) { details.appendChild(h("p", { text: line })); });
      }
    };
    B.picture.render(holder, model, opts);
    B.lastPicture = model;   // for tests and the console: the model drawn last
    mark("bp:drawn");
    // Painted: the frame after the one that laid the picture out (bench/web_blast.py).
    requestAnimationFrame(function () { requestAnimationFrame(function () { mark("bp:painted"); }); });
    return model;
  }

  function legend() {
    function item(cls, text) { return h("li", {}, [h("span", { "class": "swatch " + cls, "aria-hidden": "true" }), text]); }
    return h("ul", { "class": "legend", "aria-label": "Legend" }, [
      item("access-read", "read access"), item("access-write", "write access"), item("access-admin", "admin access"),
      item("sens-restricted", "restricted data"), item("sens-confidential", "confidential data"),
      item("sens-internal", "internal data"), item("second-order", "second-order path (stored secret)"),
      item("group", "collapsed group (count)")]);
  }

  VIEWS.blast = function (r) {
    var reverse = r.query.reverse === "1";
    var depth = parseInt(r.query.depth || "8", 10);
    var idInput = h("input", { id: "blast-id", type: "text", value: r.arg, size: "48", autocomplete: "off" });
    var rev = h("input", { id: "blast-reverse", type: "checkbox", checked: reverse });
    var form = h("form", { "class": "toolbar", onsubmit: function (ev) {
      ev.preventDefault();
      location.hash = hashFor("blast", idInput.value.trim(), { reverse: rev.checked ? "1" : "", depth: r.query.depth });
    } }, [h("label", { "for": "blast-id", text: "Node id" }), idInput,
         h("label", { "for": "blast-reverse" }, [rev, " Who can reach this"]),
         h("button", { type: "submit", text: "Show" })]);
    rev.addEventListener("change", function () { form.requestSubmit(); });
    main.appendChild(heading(reverse ? "Who can reach this" : "Blast radius"));
    main.appendChild(form);
    if (!r.arg) {
      main.appendChild(h("p", { text: "Search for a node, or try " }, []));
      main.lastChild.appendChild(link(blastHref("tool:drift-chat"), "tool:drift-chat"));
      return null;
    }
    var info = h("div", { "class": "summary", id: "blast-summary" });
    var area = h("div", { "class": "picture-area" });
    main.appendChild(info);
    main.appendChild(area);
    say("Loading\u2026");
    if (reverse) {
      return B.gql(REVERSE_Q, { id: r.arg, depth: depth }).then(function (d) {
        if (!d.node) { say("No node with id " + r.arg, true); return; }
        say("");
        info.appendChild(h("p", { text: d.whoCanReach.length + " nodes can reach " + d.node.id + "." }));
        var sens = {};
        if (d.node.properties && d.node.properties.sensitivity) { sens[d.node.id] = d.node.properties.sensitivity; }
        drawPicture(area, d.node, d.whoCanReach, { sensitivity: sens }, true);
      });
    }
    return B.gql(BLAST_Q, { id: r.arg, depth: depth }).then(function (d) {
      mark("bp:data");
      var b = d.blastRadius;
      say("");
      info.appendChild(h("p", {}, [
        h("strong", { text: b.totalCount + " reachable" }), " from " + b.source.id + " \u00b7 ",
        h("strong", { text: b.dataSources.length + " data sources" }), " \u00b7 exposure ",
        h("strong", { id: "blast-exposure", text: usd(b.spendExposureUsdPerHour) + "/hour" }), " \u00b7 ",
        link(blastHref(b.source.id, true), "who can reach this"),
        b.source.kind === "Credential" || b.source.kind === "OAuthGrant" ? " \u00b7 " : null,
        b.source.kind === "Credential" || b.source.kind === "OAuthGrant" ? link(traceHref(b.source.id), "trace it") : null]));
      drawPicture(area, b.source, b.reachable, { sensitivity: sensitivityOf(b.dataSources),
                                                 exposure: exposureOf(b.spendExposureDetail) }, false);
    });
  };

  // --- findings ----------------------------------------------------------------
  var RULES = ["orphaned-identity", "departed-owner-still-spending", "stale-credential", "long-lived-credential",
    "leaked-credential", "over-shared-credential", "environment-mixing", "overprivileged-oauth-grant", "shadow-ai",
    "unbudgeted-credential", "token-burn-anomaly", "new-model-endpoint", "departed-person-active-account",
    "access-after-departure", "connected-tools-expansion"];
  var FRAMEWORKS = ["OWASP-NHI1", "OWASP-NHI2", "OWASP-NHI3", "OWASP-NHI5", "OWASP-NHI7", "OWASP-NHI8", "OWASP-NHI9",
    "OWASP-NHI10", "OWASP-LLM10", "CSF-GV.RR-02", "CSF-PR.AA-01", "CSF-ID.AM-08", "CSF-DE.CM-03", "CSF-DE.CM-09"];
  var FINDINGS_Q = "query Findings($rule: String, $severity: String, $framework: String, $team: String, $after: String) " +
    "{ findings(rule: $rule, severity: $severity, framework: $framework, team: $team, first: 100, after: $after) " +
    "{ totalCount pageInfo { hasNextPage endCursor } nodes { id rule title severity frameworks teams evidence " +
    "subject { id kind name } } } }";

  function select(id, label, values, current) {
    var s = h("select", { id: id, name: id }, [h("option", { value: "", text: "any" })].concat(values.map(function (v) {
      var value = typeof v === "string" ? v : v[0], text = typeof v === "string" ? v : v[1];
      return h("option", { value: value, text: text, selected: current === value });
    })));
    return [h("label", { "for": id, text: label }), s];
  }

  VIEWS.findings = function (r) {
    var q = r.query;
    main.appendChild(heading("Findings"));
    return B.gql("{ nodes(kind: \"Team\", first: 500) { nodes { id name } } }").then(function (teams) {
      var teamOptions = teams.nodes.nodes.filter(function (t) { return t.id.indexOf("team:") === 0; })
        .map(function (t) { return [t.id, t.name || t.id]; });
      var controls = [].concat(select("f-rule", "Rule", RULES, q.rule),
        select("f-severity", "Severity", ["critical", "high", "medium", "low"], q.severity),
        select("f-framework", "Framework", FRAMEWORKS, q.framework),
        select("f-team", "Team", teamOptions, q.team));
      var form = h("form", { "class": "toolbar", id: "findings-filter", onsubmit: function (ev) { ev.preventDefault(); } },
                   controls);
      form.addEventListener("change", function () {
        location.hash = hashFor("findings", "", { rule: form["f-rule"].value, severity: form["f-severity"].value,
          framework: form["f-framework"].value, team: form["f-team"].value });
      });
      main.appendChild(form);
      var count = h("p", { id: "findings-count", "aria-live": "polite" });
      var body = h("tbody", {});
      var more = h("button", { type: "button", id: "findings-more", text: "Load more", hidden: true });
      main.appendChild(count);
      main.appendChild(h("div", { "class": "table-wrap" }, [h("table", { id: "findings-table" }, [
        h("caption", { text: "Findings matching the filters" }),
        h("thead", {}, [h("tr", {}, ["severity", "rule", "title", "subject", "teams", "frameworks", "evidence"]
          .map(function (x) { return h("th", { scope: "col", text: x }); }))]), body])]));
      main.appendChild(more);
      function load(after) {
        var vars = { rule: q.rule || null, severity: q.severity || null, framework: q.framework || null,
                     team: q.team || null, after: after || null };
        return B.gql(FINDINGS_Q, vars).then(function (d) {
          var f = d.findings;
          count.textContent = f.totalCount + " finding" + (f.totalCount === 1 ? "" : "s");
          f.nodes.forEach(function (n) {
            var ev = h("details", {}, [h("summary", { text: (n.evidence && n.evidence.summary) ? "evidence" : "show" }),
              h("pre", { text: JSON.stringify(n.evidence, null, 2) })]);
            body.appendChild(h("tr", { "data-rule": n.rule, "data-severity": n.severity }, [
              h("td", {}, [h("span", { "class": "sev sev-" + n.severity, text: n.severity })]),
              h("td", { text: n.rule }), h("td", { text: n.title }),
              h("td", {}, [link(blastHref(n.subject.id), n.subject.name || n.subject.id, { "class": "node-link" })]),
              h("td", { text: (n.teams || []).join(", ") }), h("td", { text: n.frameworks.join(", ") }),
              h("td", {}, [n.evidence && n.evidence.summary ? h("p", { text: n.evidence.summary }) : null, ev])]));
          });
          more.hidden = !f.pageInfo.hasNextPage;
          more.onclick = function () { load(f.pageInfo.endCursor).catch(fail); };
        });
      }
      return load(null);
    });
  };

  // --- spend ---------------------------------------------------------------------
  var SPEND_Q = "query Spend($g: String!) { spendDaily(groupBy: $g) { day key usd requests unpricedRequests unpricedTokens } " +
    "spend(groupBy: $g) { key usd requests unpricedRequests unpricedTokens detail } " +
    "anomalies: findings(rule: \"token-burn-anomaly\", first: 500) { nodes { id title subject { id } evidence } } }";
  var PALETTE = ["#1f5fa8", "#c2571a", "#2e7d32", "#7b1fa2", "#00838f", "#ad1457", "#5d4037", "#455a64"];

  VIEWS.spend = function (r) {
    var group = r.query.by || "team";
    main.appendChild(heading("Spend over time"));
    var sel = select("spend-by", "Group by", ["team", "person", "credential", "model", "environment", "tool", "project"], group);
    sel[1].firstChild.remove();   // no "any"
    sel[1].addEventListener("change", function () { location.hash = hashFor("spend", "", { by: sel[1].value }); });
    main.appendChild(h("form", { "class": "toolbar", onsubmit: function (ev) { ev.preventDefault(); } }, sel));
    return B.gql(SPEND_Q, { g: group }).then(function (d) {
      var top = d.spend.filter(function (s) { return s.key !== null; }).slice(0, PALETTE.length - 1)
        .map(function (s) { return s.key; });
      function bucket(key) { return key === null ? "(unattributed)" : top.indexOf(key) >= 0 ? key : "(other)"; }
      var keys = top.concat(["(other)", "(unattributed)"]);
      var days = {}, order = [];
      d.spendDaily.forEach(function (row) {
        if (!days[row.day]) { days[row.day] = { total: 0, unpriced: 0 }; order.push(row.day); }
        var b = bucket(row.key);
        days[row.day][b] = (days[row.day][b] || 0) + row.usd;
        days[row.day].total += row.usd;
        days[row.day].unpriced += row.unpricedRequests;
      });
      order.sort();
      var anomalies = {};
      d.anomalies.nodes.forEach(function (f) {
        var day = (f.evidence && (f.evidence.day || (f.evidence.usage && f.evidence.usage.day))) || f.id.split(":").pop();
        (anomalies[day] = anomalies[day] || []).push(f.subject.id);
      });
      main.appendChild(spendChart(order, days, keys, anomalies));
      var rows = d.spend.map(function (s) {
        var models = (s.detail && s.detail.unpriced_models) || [];
        return h("tr", { "class": s.unpricedRequests ? "unpriced" : "" }, [
          h("td", {}, [s.key === null ? h("em", { text: "(unattributed)" }) :
                       (s.key.indexOf(":") > 0 ? link(blastHref(s.key), s.key) : document.createTextNode(s.key))]),
          h("td", { "class": "num", text: usd(s.usd) }), h("td", { "class": "num", text: String(s.requests) }),
          h("td", { "class": "num", text: String(s.unpricedRequests) }),
          h("td", { "class": "num", text: String(s.unpricedTokens) }), h("td", { text: models.join(", ") })]);
      });
      main.appendChild(table(["group", "usd", "requests", "unpriced requests", "unpriced tokens", "unpriced models"],
                             rows, "Spend by " + group + " (unpriced usage is never counted as $0)"));
    });
  };

  function spendChart(order, days, keys, anomalies) {
    var SVGNS = "http://www.w3.org/2000/svg";
    function s(tag, attrs, parent) {
      var n = document.createElementNS(SVGNS, tag);
      Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      if (parent) { parent.appendChild(n); }
      return n;
    }
    var W = Math.max(640, order.length * 18 + 80), H = 320, left = 60, bottom = 40, top = 30;
    var max = Math.max.apply(null, order.map(function (d) { return days[d].total; }).concat([1]));
    var bw = (W - left - 20) / Math.max(order.length, 1);
    var svg = s("svg", { "class": "chart", id: "spend-chart", width: W, height: H, viewBox: "0 0 " + W + " " + H,
                         role: "img", "aria-label": "Stacked daily spend; table below" });
    for (var t = 0; t <= 4; t++) {
      var yv = top + (H - top - bottom) * (1 - t / 4);
      s("line", { x1: left, x2: W - 10, y1: yv, y2: yv, "class": "grid" }, svg);
      s("text", { x: left - 6, y: yv + 4, "class": "axis", "text-anchor": "end" }, svg).textContent = "$" + (max * t / 4).toFixed(0);
    }
    order.forEach(function (day, i) {
      var x = left + i * bw, y = H - bottom;
      var g = s("g", { "class": "bar", "data-day": day }, svg);
      keys.forEach(function (k, ki) {
        var v = days[day][k] || 0;
        if (!v) { return; }
        var hgt = (H - top - bottom) * v / max;
        y -= hgt;
        var rect = s("rect", { x: x + 1, y: y, width: Math.max(bw - 2, 1), height: hgt,
                               "class": "seg seg-" + ki, fill: PALETTE[ki] || "#9e9e9e" }, g);
        s("title", {}, rect).textContent = day + " " + k + ": $" + v.toFixed(2);
      });
      if (anomalies[day]) {
        var m = s("path", { d: "M " + (x + bw / 2 - 6) + " " + (y - 14) + " l 12 0 l -6 10 z", "class": "anomaly",
                            "data-day": day }, g);
        s("title", {}, m).textContent = day + ": token-burn anomaly on " + anomalies[day].join(", ");
      }
      if (days[day].unpriced) {
        var u = s("circle", { cx: x + bw / 2, cy: H - bottom + 8, r: 3, "class": "unpriced-dot" }, g);
        s("title", {}, u).textContent = day + ": " + days[day].unpriced + " unpriced requests (not counted as $0)";
      }
      if (i % Math.ceil(order.length / 10) === 0) {
        s("text", { x: x, y: H - 8, "class": "axis" }, svg).textContent = day.slice(5);
      }
    });
    var legendItems = keys.map(function (k, ki) {
      return h("li", {}, [h("span", { "class": "swatch seg-" + ki, "aria-hidden": "true" }), k]);
    });
    legendItems.push(h("li", {}, [h("span", { "class": "swatch anomaly", "aria-hidden": "true" }), "token-burn anomaly"]));
    legendItems.push(h("li", {}, [h("span", { "class": "swatch unpriced-dot", "aria-hidden": "true" }), "day with unpriced usage"]));
    var wrap = h("figure", { "class": "chart-wrap" }, [h("figcaption", { text: "Daily spend, stacked by group (top " +
      (keys.length - 2) + ", the rest as other)" }), h("div", { "class": "chart-scroll" }), h("ul", { "class": "legend" }, legendItems)]);
    wrap.children[1].appendChild(svg);
    return wrap;
  }

  // --- trace ---------------------------------------------------------------------
  VIEWS.trace = function (r) {
    var idInput = h("input", { id: "trace-id", type: "text", value: r.arg, size: "48", autocomplete: "off" });
    main.appendChild(heading("Trace a leaked key"));
    main.appendChild(h("form", { "class": "toolbar", onsubmit: function (ev) {
      ev.preventDefault(); location.hash = hashFor("trace", idInput.value.trim(), {});
    } }, [h("label", { "for": "trace-id", text: "Credential or grant id" }), idInput, h("button", { type: "submit", text: "Trace" })]));
    if (!r.arg) {
      main.appendChild(h("p", {}, ["Try ", link(traceHref("anthropic:api_key:apikey_01DataAgent"), "the demo's leaked key")]));
      return null;
    }
    return B.features().then(function (f) {
      var stepExtra = (f.step.command ? " command" : "") + (f.step.url ? " url" : "");
      var traceExtra = (f.trace.timeline ? " timeline { at kind source detail }" : "") +
                       (f.trace.usdSince ? " usdSince" : "");
      var q = "query Trace($id: ID!) { traceCompromise(id: $id) { subject { id kind name active } since" + traceExtra +
        " owners { id name active } holders { id kind name active } exposures { id properties }" +
        " usageSince { day model usd requests anomalous note }" +
        " revocationPlan { order action target reason" + stepExtra + " }" +
        " blastRadius { source { id kind name active } totalCount spendExposureUsdPerHour spendExposureDetail" +
        " reachable { " + REACH + " } dataSources { id properties } } } }";
      return B.gql(q, { id: r.arg }).then(function (d) { drawTrace(d.traceCompromise); });
    });
  };

  function timelineOf(t) {
    if (t.timeline) {
      return t.timeline.map(function (e) {
        return { at: e.at, kind: e.kind, source: e.source,
                 detail: typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail) };
      });
    }
    // Older servers: the events the contract's fields carry.
    var out = [];
    t.exposures.forEach(function (x) {
      var p = x.properties || {};
      out.push({ at: p.date || p.created_at || null, kind: "exposed", source: x.id.split(":")[0],
                 detail: (p.repository || p.repo || "") + (p.file ? " " + p.file : "") });
    });
    var used = t.usageSince.filter(function (u) { return u.requests > 0; });
    if (used.length) {
      out.push({ at: used[0].day, kind: "first use since", source: "usage", detail: used[0].model });
      out.push({ at: used[used.length - 1].day, kind: "last use since", source: "usage", detail: used[used.length - 1].model });
    }
    t.usageSince.filter(function (u) { return u.anomalous; }).forEach(function (u) {
      out.push({ at: u.day, kind: "anomaly", source: "usage", detail: u.model + " " + usd(u.usd) + (u.note ? " \u2014 " + u.note : "") });
    });
    out.sort(function (a, b) { return String(a.at) < String(b.at) ? -1 : 1; });
    return out;
  }

  function drawTrace(t) {
    var spent = t.usdSince !== undefined ? t.usdSince :
      t.usageSince.reduce(function (s, u) { return s + (u.usd || 0); }, 0);
    main.appendChild(h("p", { "class": "summary", id: "trace-summary" }, [
      h("strong", { text: t.subject.id }), (t.subject.active ? " is active" : " is inactive") +
      (t.since ? "; compromised since " + t.since : "") + "; " + usd(spent) + " spent since; owners: " +
      (t.owners.map(function (o) { return o.id + (o.active ? "" : " (inactive)"); }).join(", ") || "none") +
      "; holders: " + (t.holders.map(function (x) { return x.id; }).join(", ") || "none")]));
    var side = h("div", { "class": "trace-side" });
    var timeline = h("ol", { "class": "timeline", id: "trace-timeline" }, timelineOf(t).map(function (e) {
      return h("li", { "data-kind": e.kind }, [h("time", { text: String(e.at || "") }), " ",
        h("strong", { text: e.kind }), " (" + e.source + ") ", e.detail || ""]);
    }));
    side.appendChild(h("h3", { text: "Timeline" }));
    side.appendChild(timeline);
    side.appendChild(h("h3", { text: "Revocation plan" }));
    var storeKey = "burnpath.plan." + t.subject.id;
    var done = {};
    try { done = JSON.parse(sessionStorage.getItem(storeKey) || "{}"); } catch (e) { done = {}; }
    var list = h("ol", { "class": "checklist", id: "trace-plan" }, t.revocationPlan.map(function (s) {
      var id = "step-" + s.order;
      var box = h("input", { type: "checkbox", id: id, checked: !!done[s.order] });
      box.addEventListener("change", function () {
        done[s.order] = box.checked;
        try { sessionStorage.setItem(storeKey, JSON.stringify(done)); } catch (e) { /* no storage */ }
      });
      return h("li", {}, [box, h("label", { "for": id }, [h("strong", { text: s.action }), " " + s.target]),
        h("p", { "class": "reason", text: s.reason }),
        s.command ? h("pre", { "class": "command" }, [h("code", { text: s.command })]) : null,
        s.url ? h("p", {}, [link(s.url, "console", { rel: "noreferrer noopener", target: "_blank" })]) : null]);
    }));
    side.appendChild(list);
    var area = h("div", { "class": "picture-area" });
    main.appendChild(h("div", { "class": "trace-layout" }, [side, area]));
    var b = t.blastRadius;
    drawPicture(area, b.source, b.reachable, { sensitivity: sensitivityOf(b.dataSources),
                                               exposure: exposureOf(b.spendExposureDetail) }, false);
  }

  // --- risk ----------------------------------------------------------------------
  VIEWS.risk = function (r) {
    var kind = r.query.kind || "";
    main.appendChild(heading("Riskiest identities"));
    var sel = select("risk-kind", "Kind", ["Credential", "Person", "AITool", "ServiceAccount", "OAuthGrant", "Account"], kind);
    sel[1].addEventListener("change", function () { location.hash = hashFor("risk", "", { kind: sel[1].value }); });
    main.appendChild(h("form", { "class": "toolbar", onsubmit: function (ev) { ev.preventDefault(); } }, sel));
    return B.features().then(function (f) {
      var factors = f.risk.factors ? " factors { reason weight }" : "";
      var fields = "id kind name active risk { score reasons" + factors + " }";
      if (f.query.riskiest) {
        return B.gql("query R($kind: String) { riskiest(kind: $kind, first: 25) { nodes { " + fields + " } } }",
                     { kind: kind || null }).then(function (d) { drawRisk(d.riskiest.nodes); });
      }
      // No server-side ranking: rank the subjects of findings, which are the nodes with a score.
      return B.gql("{ findings(first: 500) { nodes { subject { " + fields + " } } } }").then(function (d) {
        var seen = {}, nodes = [];
        d.findings.nodes.forEach(function (n) {
          var s = n.subject;
          if (seen[s.id] || (kind && s.kind !== kind)) { return; }
          seen[s.id] = true; nodes.push(s);
        });
        nodes.sort(function (a, b) { return b.risk.score - a.risk.score || (a.id < b.id ? -1 : 1); });
        drawRisk(nodes.slice(0, 25));
      });
    });
  };

  function drawRisk(nodes) {
    var rows = nodes.map(function (n, i) {
      var factors = n.risk.factors || n.risk.reasons.map(function (x) { return { reason: x, weight: null }; });
      var bar = h("div", { "class": "factor-bar", role: "img", "aria-label": "score " + n.risk.score });
      factors.forEach(function (f, fi) {
        if (f.weight) {
          var seg = h("span", { "class": "factor seg-" + (fi % 8), title: f.reason + " (+" + f.weight + ")" });
          seg.style.width = Math.max(1, f.weight) + "%";
          bar.appendChild(seg);
        }
      });
      return h("tr", { "data-id": n.id }, [h("td", { "class": "num", text: String(i + 1) }),
        h("td", {}, [link(blastHref(n.id), n.name || n.id, { "class": "node-link" })]), h("td", { text: n.kind }),
        h("td", { "class": "num score", text: String(n.risk.score) }), h("td", {}, [bar]),
        h("td", {}, [h("ul", { "class": "factors" }, factors.map(function (f) {
          return h("li", { text: f.reason + (f.weight !== null ? " (+" + f.weight + ")" : "") });
        }))])]);
    });
    main.appendChild(table(["#", "identity", "kind", "score", "", "factors (weights)"], rows, "Highest risk first"));
  }

  // --- start ---------------------------------------------------------------------
  function start() {
    main = document.getElementById("view");
    status = document.getElementById("status");
    var tokenInput = document.getElementById("token");
    tokenInput.value = B.token.get();
    document.getElementById("token-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      B.token.set(tokenInput.value.trim());
      B.resetFeatures();
      route();
    });
    window.addEventListener("hashchange", route);
    route();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  B.hashFor = hashFor;
})(window.Burnpath = window.Burnpath || {});
