// Starts GraphiQL on the page the GraphQL endpoint serves (no inline script, so the
// page's Content-Security-Policy can forbid them). Queries go to the endpoint itself,
// subscriptions to the same URL over WebSocket (graphql-transport-ws).
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var query = new URLSearchParams(window.location.search).get("query");
  var fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: socket.href });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.getAttribute("data-default-query"),
      query: query || undefined,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
