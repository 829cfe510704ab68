// The chat page: talks to the Rust server through the official socket.io browser client (`io`, loaded
// from /socket.io.min.js). `?transport=polling` or `?transport=websocket` pins the transport.
"use strict";

(() => {
  /** The sender stops "typing" after this long without a keystroke. */
  const TYPING_IDLE_MS = 2000;
  /** While typing, the sender repeats "typing" this often, so that others do not expire it. */
  const TYPING_REPEAT_MS = 3000;
  /** Others forget a typer not heard of for this long (a lost "stopped typing"). */
  const TYPING_EXPIRY_MS = 6000;
  const ACK_TIMEOUT_MS = 10000;

  const $ = (id) => document.getElementById(id);
  const transport = new URLSearchParams(location.search).get("transport");
  const options = transport === "polling" || transport === "websocket" ? { transports: [transport] } : {};
  const socket = io(options);

  const state = { nickname: null, room: null, rooms: [] };
  const typers = new Map(); // nickname → expiry timer
  const typing = { active: false, sentAt: 0, idle: null };

  function showConnection() {
    const name = socket.connected ? socket.io.engine.transport.name : "";
    document.body.dataset.connected = String(socket.connected);
    document.body.dataset.transport = name;
    $("status").textContent = socket.connected ? `connected over ${name}` : "disconnected";
  }

  socket.on("connect", () => {
    socket.io.engine.off("upgrade", showConnection);
    socket.io.engine.on("upgrade", showConnection);
    showConnection();
    // Back after a lost connection: the server forgot us, so log in again and return to the room.
    if (state.nickname) relogin();
  });
  socket.on("disconnect", showConnection);
  socket.on("connect_error", showConnection);

  function relogin() {
    const room = state.room;
    socket.timeout(ACK_TIMEOUT_MS).emit("login", state.nickname, (err, res) => {
      if (err || res.error) return showError("chat-error", err ? err.message : res.error);
      if (room && room !== res.room) joinRoom(room);
      else enterRoom(res.room);
    });
  }

  function showError(id, text) {
    $(id).textContent = text;
  }

  function time(at) {
    return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function append(li) {
    const list = $("messages");
    list.append(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  function addMessage({ nickname, text, at, mine }) {
    const li = element("li", mine ? "message mine" : "message");
    li.dataset.testid = "message";
    li.dataset.kind = "message";
    li.dataset.from = nickname;
    li.dataset.mine = String(mine);
    li.append(element("span", "from", nickname), element("span", "text", text));
    li.append(element("time", "at", time(at ?? Date.now())));
    if (mine) {
      li.dataset.status = "sending";
      li.append(element("span", "delivery", "sending…"));
    }
    return append(li);
  }

  function addNotice(kind, nickname, text) {
    const li = element("li", "notice", text);
    li.dataset.testid = "notice";
    li.dataset.kind = "notice";
    li.dataset.notice = kind;
    li.dataset.nickname = nickname;
    return append(li);
  }

  function renderTyping() {
    const names = [...typers.keys()];
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $("typing").textContent = text;
  }

  function forgetTyper(nickname) {
    clearTimeout(typers.get(nickname));
    if (typers.delete(nickname)) renderTyping();
  }

  function renderRooms() {
    const list = $("rooms");
    list.replaceChildren();
    for (const { name, members } of state.rooms) {
      const li = element("li", name === state.room ? "current" : "");
      li.dataset.room = name;
      li.dataset.members = String(members);
      if (name === state.room) li.setAttribute("aria-current", "true");
      const button = element("button", "room", `#${name}`);
      button.type = "button";
      button.dataset.testid = "room-button";
      button.addEventListener("click", () => joinRoom(name));
      li.append(button, element("span", "members", String(members)));
      list.append(li);
    }
  }

  function enterRoom(room) {
    state.room = room;
    $("current-room").textContent = `#${room}`;
    $("messages").replaceChildren();
    for (const nickname of [...typers.keys()]) forgetTyper(nickname);
    addNotice("self", state.nickname, `You are in #${room}`);
    renderRooms();
  }

  function joinRoom(room) {
    stopTyping();
    showError("chat-error", "");
    socket.timeout(ACK_TIMEOUT_MS).emit("join", room, (err, res) => {
      if (err || res.error) return showError("chat-error", err ? err.message : res.error);
      enterRoom(res.room);
    });
  }

  function startTyping() {
    clearTimeout(typing.idle);
    typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
    if (!typing.active || Date.now() - typing.sentAt > TYPING_REPEAT_MS) {
      typing.active = true;
      typing.sentAt = Date.now();
      socket.emit("typing", true);
    }
  }

  function stopTyping() {
    clearTimeout(typing.idle);
    if (!typing.active) return;
    typing.active = false;
    socket.emit("typing", false);
  }

  // What the server tells us. It scopes messages, notices and typing to our room.
  socket.on("rooms", (rooms) => {
    state.rooms = rooms;
    renderRooms();
  });

  socket.on("message", (m) => {
    forgetTyper(m.nickname);
    addMessage({ nickname: m.nickname, text: m.text, at: m.at, mine: false });
  });

  socket.on("notice", ({ kind, nickname, detail }) => {
    forgetTyper(nickname);
    let text = `${nickname} joined`;
    if (kind === "leave") text = detail && detail.to ? `${nickname} went to #${detail.to}` : `${nickname} left`;
    const li = addNotice(kind, nickname, text);
    if (detail && detail.to) li.dataset.to = detail.to;
  });

  socket.on("typing", ({ nickname, typing: active }) => {
    if (!active) return forgetTyper(nickname);
    clearTimeout(typers.get(nickname));
    typers.set(nickname, setTimeout(() => forgetTyper(nickname), TYPING_EXPIRY_MS));
    renderTyping();
  });

  // What the user does.
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showError("login-error", "");
    if (!socket.connected) socket.connect();
    const nickname = $("nickname").value.trim();
    socket.timeout(ACK_TIMEOUT_MS).emit("login", nickname, (err, res) => {
      if (err || res.error) return showError("login-error", err ? err.message : res.error);
      state.nickname = res.nickname;
      $("me").textContent = res.nickname;
      $("login-view").hidden = true;
      $("chat-view").hidden = false;
      enterRoom(res.room);
      $("message").focus();
    });
  });

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const room = $("room-name").value.trim();
    if (!room) return;
    $("room-name").value = "";
    joinRoom(room);
  });

  $("message").addEventListener("input", () => {
    if ($("message").value.trim()) startTyping();
    else stopTyping();
  });

  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    $("message").value = "";
    stopTyping();
    const li = addMessage({ nickname: state.nickname, text, mine: true });
    const delivery = li.querySelector(".delivery");
    socket.timeout(ACK_TIMEOUT_MS).emit("message", text, (err, res) => {
      const error = err ? err.message : res.error;
      li.dataset.status = error ? "failed" : "delivered";
      delivery.textContent = error ? `not delivered: ${error}` : "✓ delivered";
      if (!error) {
        li.dataset.id = String(res.id);
        li.querySelector(".at").textContent = time(res.at);
      }
    });
  });

  $("logout").addEventListener("click", () => {
    stopTyping();
    socket.disconnect();
    state.nickname = null;
    state.room = null;
    $("chat-view").hidden = true;
    $("login-view").hidden = false;
  });
})();
