/* Parley web chat widget. Put it on a page with:
 *   <script src="https://parley.example/widget.js" data-assistant="ASSISTANT_ID" async></script>
 * Optional: data-title="Chat with us". No dependencies; everything lives in a shadow root. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__parleyWidget) return;
  window.__parleyWidget = true;
  var aid = me.getAttribute("data-assistant") || "";
  var base = me.src.replace(/\/widget\.js(\?.*)?$/, "");
  var api = base + "/widget/" + encodeURIComponent(aid);
  var title = me.getAttribute("data-title") || "Chat with us";
  var key = "parley:" + aid;
  var session = load();
  var seen = {};
  var open = false, es = null, cursor = "0";

  function load() {
    try { return JSON.parse(localStorage.getItem(key)) || null; } catch (e) { return null; }
  }
  function save(s) {
    session = s;
    try { s ? localStorage.setItem(key, JSON.stringify(s)) : localStorage.removeItem(key); } catch (e) {}
  }

  var css =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#2447c7;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launch svg{width:26px;height:26px;fill:currentColor;vertical-align:middle}" +
    ".launch.unread::after{content:'';position:absolute;top:6px;right:6px;width:12px;height:12px;border-radius:50%;background:#e5484d;border:2px solid #fff}" +
    ".panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:360px;max-width:calc(100vw - 40px);height:520px;" +
    "max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1c1c1c;border-radius:12px;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}" +
    ".panel[hidden]{display:none}" +
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#2447c7;color:#fff}" +
    "h2{margin:0;font-size:16px;font-weight:600}" +
    ".close{background:none;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px;border-radius:4px}" +
    "ol{list-style:none;margin:0;padding:12px;flex:1;overflow-y:auto;display:flex;flex-direction:column;gap:8px}" +
    "li{max-width:85%;padding:8px 11px;border-radius:12px;background:#eef0f4;white-space:pre-wrap;overflow-wrap:anywhere}" +
    "li.visitor{align-self:flex-end;background:#2447c7;color:#fff}li.visitor a{color:#fff}" +
    "a{color:#2447c7}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "form{border-top:1px solid #e3e5ea;padding:10px;display:flex;flex-direction:column;gap:6px}" +
    ".pre{display:flex;gap:6px}.pre[hidden]{display:none}.pre label{flex:1}" +
    "input,textarea{width:100%;border:1px solid #b9bfcc;border-radius:8px;padding:7px 9px;color:#1c1c1c;background:#fff}" +
    "textarea{resize:none;height:58px}.row{display:flex;gap:6px;align-items:flex-end}" +
    ".send{border:0;border-radius:8px;background:#2447c7;color:#fff;padding:8px 14px;cursor:pointer;font-weight:600}" +
    ".send:disabled{opacity:.6;cursor:default}" +
    ".status{min-height:1em;color:#b42318;font-size:12px}" +
    "button:focus-visible,input:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #f5a524;outline-offset:2px}";

  var host = document.createElement("div");
  host.id = "parley-widget";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" + css + "</style>" +
    '<button class="launch" type="button" aria-haspopup="dialog" aria-expanded="false" aria-controls="p-panel" aria-label="Open chat">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></button>' +
    '<div class="panel" id="p-panel" role="dialog" aria-modal="false" aria-labelledby="p-title" hidden>' +
    '<header><h2 id="p-title"></h2><button class="close" type="button" aria-label="Close chat">&times;</button></header>' +
    '<ol role="log" aria-live="polite" aria-label="Messages"></ol>' +
    '<form novalidate><div class="pre">' +
    '<label><span class="sr">Your name (optional)</span><input id="p-name" name="name" autocomplete="name" placeholder="Name (optional)" maxlength="200"></label>' +
    '<label><span class="sr">Your email (optional)</span><input id="p-email" name="email" type="email" autocomplete="email" placeholder="Email (optional)" maxlength="254"></label></div>' +
    '<div class="row"><label style="flex:1"><span class="sr">Message</span><textarea id="p-msg" name="message" placeholder="Type a message… (Enter to send)" maxlength="8000"></textarea></label>' +
    '<button class="send" type="submit">Send</button></div>' +
    '<div class="status" role="status" aria-live="assertive"></div></form></div>';

  function $(s) { return root.querySelector(s); }
  var launch = $(".launch"), panel = $(".panel"), list = $("ol"), form = $("form"), pre = $(".pre");
  var nameIn = $("#p-name"), emailIn = $("#p-email"), msgIn = $("#p-msg"), sendBtn = $(".send"), status = $(".status");
  $("#p-title").textContent = title;

  function setOpen(v) {
    open = v;
    panel.hidden = !v;
    launch.setAttribute("aria-expanded", String(v));
    launch.setAttribute("aria-label", v ? "Close chat" : "Open chat");
    if (v) {
      launch.classList.remove("unread");
      pre.hidden = !!session;
      (session ? msgIn : nameIn).focus();
      list.scrollTop = list.scrollHeight;
    } else {
      launch.focus();
    }
  }
  launch.addEventListener("click", function () { setOpen(!open); });
  $(".close").addEventListener("click", function () { setOpen(false); });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && open) { e.preventDefault(); setOpen(false); }
  });
  msgIn.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });

  // Text with its http(s) links as links; never HTML.
  function render(li, text) {
    var re = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/g, last = 0, m;
    while ((m = re.exec(text))) {
      li.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement("a");
      a.href = m[0]; a.textContent = m[0]; a.target = "_blank"; a.rel = "noopener noreferrer";
      li.appendChild(a);
      last = m.index + m[0].length;
    }
    li.appendChild(document.createTextNode(text.slice(last)));
  }

  function add(m) {
    if (!m || seen[m.id]) return;
    seen[m.id] = true;
    var li = document.createElement("li");
    li.className = m.author === "visitor" ? "visitor" : "agent";
    li.setAttribute("data-id", m.id);
    var who = document.createElement("span");
    who.className = "sr";
    who.textContent = m.author === "visitor" ? "You: " : m.author === "human_operator" ? "Support: " : "Assistant: ";
    li.appendChild(who);
    render(li, m.content);
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
    if (!open && m.author !== "visitor") launch.classList.add("unread"), launch.setAttribute("aria-label", "Open chat (new message)");
  }

  function call(method, path, body) {
    var h = { "Content-Type": "application/json" };
    if (session) h.Authorization = "Bearer " + session.token;
    return fetch(api + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, mode: "cors", credentials: "omit" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.status === 401) { forget(); }
          if (!r.ok) {
            var e = j && j.errors, k = e && Object.keys(e)[0];
            throw new Error(r.status === 403 ? "This chat is not available on this site." :
              r.status === 429 ? "You are sending messages too fast. Please wait a moment." :
              (k && e[k][0] && e[k][0].message) || "Something went wrong. Please try again.");
          }
          return j;
        });
      });
  }

  function forget() {
    save(null);
    if (es) { es.close(); es = null; }
    pre.hidden = false;
  }

  function history() {
    if (!session) return Promise.resolve();
    return call("GET", "/messages").then(function (j) {
      (j.messages || []).forEach(add);
      cursor = j.cursor || cursor;
      listen();
    }).catch(function () {});
  }

  function listen() {
    if (es || !session || !window.EventSource) return;
    es = new EventSource(api + "/stream?token=" + encodeURIComponent(session.token) + "&after=" + encodeURIComponent(cursor));
    es.addEventListener("message", function (e) {
      try { add(JSON.parse(e.data)); } catch (x) {}
    });
    es.addEventListener("reset", function () { es.close(); es = null; history(); });
    es.addEventListener("end", forget);
    es.onerror = function () {
      if (es && es.readyState === 2) { es = null; setTimeout(history, 5000); }
    };
  }

  var busy = false;
  function send() {
    var text = msgIn.value;
    if (busy || !text.trim()) { msgIn.focus(); return; }
    busy = true; sendBtn.disabled = true; status.textContent = "";
    var start = session ? Promise.resolve() : call("POST", "/sessions", {
      name: nameIn.value, email: emailIn.value, url: location.href
    }).then(function (j) {
      save({ token: j.token, conversation: j.conversation_id });
      cursor = j.cursor || "0";
      pre.hidden = true;
      listen();
    });
    start.then(function () { return call("POST", "/messages", { content: text }); })
      .then(function (m) { msgIn.value = ""; add(m); })
      .catch(function (e) { status.textContent = e.message; })
      .then(function () { busy = false; sendBtn.disabled = false; msgIn.focus(); });
  }

  function mount() {
    document.body.appendChild(host);
    history();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
