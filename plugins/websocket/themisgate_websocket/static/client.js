// themisgate WebSocket client: streaming search, broadcasts, reconnect and heartbeat.
// No dependencies; served by the websocket plugin. The protocol is described in
// docs/websocket-protocol.md.
"use strict";

(function () {
  const page = document.getElementById("app");
  const endpoint = page.dataset.endpoint; // e.g. /api/v4/ws/search
  const $ = (id) => document.getElementById(id);
  const state = {
    socket: null,
    wanted: false, // the user wants a connection: reconnect when it drops
    attempt: 0,
    reconnectTimer: null,
    pingTimer: null,
    lastFrameAt: 0,
    heartbeatSeconds: 25,
    idleSeconds: 0,
    searchId: 0,
    opened: 0, // how many times a connection opened (reconnects included)
  };

  // --- rendering -------------------------------------------------------------------------

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.dataset.state = kind;
  }

  function note(text, kind) {
    const li = document.createElement("li");
    li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    if (kind) li.className = kind;
    const events = $("events");
    events.prepend(li);
    while (events.children.length > 200) events.lastChild.remove();
  }

  function documentText(doc) {
    if (!doc) return "";
    for (const key of ["title", "text", "content", "name"]) {
      if (typeof doc[key] === "string") return doc[key];
    }
    return JSON.stringify(doc);
  }

  function renderResult(frame) {
    const li = document.createElement("li");
    li.dataset.index = String(frame.index);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = frame.data.score.toFixed(3);
    const id = document.createElement("code");
    id.textContent = frame.data.id;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = documentText(frame.data.document);
    li.append(score, " ", id, " ", text);
    $("results").append(li);
  }

  // --- frames ----------------------------------------------------------------------------

  const handlers = {
    connected(frame) {
      state.attempt = 0;
      state.heartbeatSeconds = frame.heartbeat_seconds || 25;
      state.idleSeconds = frame.idle_timeout_seconds || 0;
      startHeartbeat(); // now that the server's timings are known
      $("client-id").value = frame.client_id;
      setStatus(`connected as ${frame.client_id}`, "open");
      $("search").disabled = false;
      $("send-broadcast").disabled = false;
    },
    search_started(frame) {
      if (frame.id !== state.searchId) return;
      $("results").replaceChildren();
      $("summary").textContent = `searching for “${frame.query ?? "vector"}”…`;
    },
    result(frame) {
      if (frame.id === state.searchId) renderResult(frame);
    },
    search_complete(frame) {
      if (frame.id !== state.searchId) return;
      const n = frame.total_results;
      $("summary").textContent = `${n} result${n === 1 ? "" : "s"}`;
    },
    pong() {},
    heartbeat() {},
    broadcast(frame) {
      note(`broadcast from ${frame.from}: ${JSON.stringify(frame.message)}`);
    },
    message(frame) {
      note(`message from ${frame.from}: ${JSON.stringify(frame.message)}`);
    },
    user_disconnected(frame) {
      note(`${frame.client_id} left`, "muted");
    },
    error(frame) {
      note(`error ${frame.code}: ${frame.message}`, "error");
      if (frame.id !== undefined && frame.id === state.searchId) {
        $("summary").textContent = `search failed: ${frame.message}`;
      }
    },
  };

  function onFrame(event) {
    state.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (_) {
      note("the server sent something that is not JSON", "error");
      return;
    }
    const handle = handlers[frame.type];
    if (handle) handle(frame);
    else note(`${frame.type}: ${event.data}`, "muted");
  }

  // --- connection, reconnect, heartbeat ---------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = new URL(`${scheme}//${location.host}${endpoint}`);
    const clientId = $("client-id").value.trim();
    if (clientId) url.searchParams.set("client_id", clientId);
    return url.toString();
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.wanted = true;
    const token = $("token").value.trim();
    // browsers cannot set headers here: the token travels as the subprotocol pair
    // "bearer, <token>" and the server answers "bearer"
    const socket = token ? new WebSocket(socketUrl(), ["bearer", token]) : new WebSocket(socketUrl());
    state.socket = socket;
    setStatus("connecting…", "connecting");
    socket.addEventListener("open", () => {
      state.opened += 1;
      $("status").dataset.opened = String(state.opened);
      state.lastFrameAt = Date.now();
      startHeartbeat();
    });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", (event) => {
      stopHeartbeat();
      $("search").disabled = true;
      $("send-broadcast").disabled = true;
      if (state.socket !== socket) return;
      state.socket = null;
      const why = event.reason ? ` (${event.reason})` : "";
      // refusals a retry cannot fix: wrong credentials, missing scope, bad client id
      const final = [1008, 4401, 4403].includes(event.code);
      if (!state.wanted || final) {
        setStatus(`closed ${event.code}${why}`, "closed");
        state.wanted = false;
        return;
      }
      scheduleReconnect(event.code, why);
    });
  }

  function scheduleReconnect(code, why) {
    // exponential back-off with jitter, capped at 30 s
    const delay = Math.min(30000, 500 * 2 ** state.attempt) * (0.5 + Math.random() / 2);
    state.attempt += 1;
    setStatus(`closed ${code}${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`, "reconnecting");
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    state.wanted = false;
    clearTimeout(state.reconnectTimer);
    if (state.socket) state.socket.close(1000, "bye");
  }

  function startHeartbeat() {
    stopHeartbeat();
    // ping often enough for the server's idle timeout, at most every 20 s, at least every 1 s
    const limits = [20, state.heartbeatSeconds];
    if (state.idleSeconds > 0) limits.push(state.idleSeconds / 2);
    const every = Math.max(1, Math.min(...limits)) * 1000;
    state.pingTimer = setInterval(() => {
      const socket = state.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      // nothing heard for two heartbeats and a ping: the connection is dead, start over
      if (Date.now() - state.lastFrameAt > 2 * every + state.heartbeatSeconds * 1000) {
        note("no heartbeat from the server; reconnecting", "muted");
        socket.close(4000, "heartbeat timeout");
        return;
      }
      socket.send(JSON.stringify({ action: "ping" }));
    }, every);
  }

  function stopHeartbeat() {
    clearInterval(state.pingTimer);
    state.pingTimer = null;
  }

  function send(message) {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
      note("not connected", "error");
      return false;
    }
    state.socket.send(JSON.stringify(message));
    return true;
  }

  // --- the forms ----------------------------------------------------------------------------

  $("connection").addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.socket) disconnect();
    else connect();
  });
  $("disconnect").addEventListener("click", disconnect);

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.searchId += 1;
    const message = {
      action: "search",
      id: state.searchId,
      query: $("query").value,
      top_k: Number($("top-k").value) || 5,
    };
    const collection = $("collection").value.trim();
    if (collection) message.collection = collection;
    send(message);
  });

  $("broadcast-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("broadcast-text").value;
    if (text && send({ action: "broadcast", message: { text } })) $("broadcast-text").value = "";
  });

  if (page.dataset.autoconnect !== "false") connect();
})();
