// burnpath's GraphiQL page: starts the vendored GraphiQL against this server's
// /graphql. Kept in a file of its own (no inline script) so the page's
// Content-Security-Policy can allow scripts from this origin only.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  // This page is served by the GraphQL endpoint itself (GET with Accept: text/html).
  var endpoint = window.location.pathname;
  var tokenRequired = root.getAttribute("data-token-required") === "true";

  var EXAMPLE =
    "# burnpath GraphQL. Run with Ctrl-Enter or the run button.\n" +
    (tokenRequired
      ? '# This server needs an API token: add it in the Headers tab below as\n' +
        '#   {"Authorization": "Bearer <your token>"}\n'
      : "") +
    "{\n  nodes(first: 5) {\n    totalCount\n    nodes { id kind name active }\n  }\n}\n";

  function authorization(headers) {
    if (!headers) return "";
    for (var key in headers) {
      if (key.toLowerCase() === "authorization" && typeof headers[key] === "string") {
        return headers[key].trim();
      }
    }
    return "";
  }

  function headerObject(text) {
    try {
      var parsed = JSON.parse(text || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (e) {
      return {};
    }
  }

  var post = GraphiQL.createFetcher({ url: endpoint });

  // Without a token the server answers 401; say what to do instead of sending a
  // request bound to fail (GraphiQL sends its schema query as soon as it opens).
  function fetcher(params, opts) {
    var credential = authorization(opts && opts.headers);
    if (tokenRequired && !/^bearer\s+\S+/i.test(credential)) {
      var asking = params && params.operationName === "IntrospectionQuery"
        ? "Documentation and completion need the schema, and this server needs an API token"
        : "This server needs an API token";
      return Promise.resolve({
        errors: [{
          message: asking + ': add {"Authorization": "Bearer <your token>"} in the Headers tab.',
          extensions: { code: "UNAUTHENTICATED" }
        }]
      });
    }
    return post(params, opts);
  }

  function App() {
    var credentialState = React.useState("");
    var credential = credentialState[0];
    var setCredential = credentialState[1];
    var timer = React.useRef(null);

    // A new fetcher makes GraphiQL fetch the schema again: do that once the token
    // in the Headers tab has settled, so pasting one brings the docs and completion.
    var currentFetcher = React.useMemo(function () {
      return function (params, opts) { return fetcher(params, opts); };
    }, [credential]);

    function onEditHeaders(text) {
      clearTimeout(timer.current);
      timer.current = setTimeout(function () {
        setCredential(authorization(headerObject(text)));
      }, 400);
    }

    return React.createElement(GraphiQL, {
      fetcher: currentFetcher,
      defaultQuery: EXAMPLE,
      onEditHeaders: onEditHeaders,
      isHeadersEditorEnabled: true,
      // The token stays in this tab's memory unless the user opts in (GraphiQL settings).
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: tokenRequired ? "headers" : true,
      inputValueDeprecation: true
    });
  }

  ReactDOM.createRoot(root).render(React.createElement(App));
})();
