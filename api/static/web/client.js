/* burnpath web views: the GraphQL client. Every view reads the same /graphql API as
   any other client, with the user's own token (kept in sessionStorage for this tab
   only, sent as `Authorization: Bearer ...`). */
(function (B) {
  "use strict";
  var TOKEN_KEY = "burnpath.token";
  var ENDPOINT = "graphql";  // relative: works behind a path prefix

  B.token = {
    get: function () { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; } },
    set: function (value) {
      try {
        if (value) { sessionStorage.setItem(TOKEN_KEY, value); } else { sessionStorage.removeItem(TOKEN_KEY); }
      } catch (e) { /* storage disabled: the token lives for this page only */ }
    }
  };

  function GraphQLError(message, status, errors) {
    this.name = "GraphQLError";
    this.message = message;
    this.status = status;
    this.errors = errors || [];
  }
  GraphQLError.prototype = Object.create(Error.prototype);
  B.GraphQLError = GraphQLError;

  /* POST one document; resolves to `data`, rejects with a GraphQLError saying why. */
  B.gql = function (query, variables) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    var token = B.token.get();
    if (token) { headers.Authorization = "Bearer " + token; }
    return fetch(ENDPOINT, {
      method: "POST", headers: headers, credentials: "omit",
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        var errors = body.errors || [];
        if (resp.status === 401) {
          throw new GraphQLError((errors[0] && errors[0].message) || "this server needs an API token",
                                 401, errors);
        }
        if (errors.length && !body.data) {
          throw new GraphQLError(errors.map(function (e) { return e.message; }).join("; "), resp.status, errors);
        }
        if (errors.length) {
          throw new GraphQLError(errors.map(function (e) { return e.message; }).join("; "), resp.status, errors);
        }
        return body.data;
      });
    });
  };

  /* Which optional fields this server's schema has, asked once by introspection:
     the views use newer fields (riskiest, trace timeline, revocation commands) when
     present and fall back to the contract's fields otherwise. */
  var featuresPromise = null;
  B.features = function () {
    if (!featuresPromise) {
      var q = "{ q: __type(name: \"Query\") { fields { name } } " +
              "t: __type(name: \"CompromiseTrace\") { fields { name } } " +
              "s: __type(name: \"RevocationStep\") { fields { name } } " +
              "r: __type(name: \"Risk\") { fields { name } } }";
      featuresPromise = B.gql(q).then(function (d) {
        function names(t) {
          var out = {};
          ((t && t.fields) || []).forEach(function (f) { out[f.name] = true; });
          return out;
        }
        return { query: names(d.q), trace: names(d.t), step: names(d.s), risk: names(d.r) };
      }, function (err) {
        if (err.status === 401) { featuresPromise = null; throw err; }
        return { query: {}, trace: {}, step: {}, risk: {} };  // introspection off: contract fields only
      });
    }
    return featuresPromise;
  };
  B.resetFeatures = function () { featuresPromise = null; };
})(window.Burnpath = window.Burnpath || {});
