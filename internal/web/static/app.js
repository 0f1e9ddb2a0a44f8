// Parley dashboard: live updates over Server-Sent Events, relative times, small comforts.
// Every page works without this script; it only keeps pages current.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var body = document.body;
  var aid = body.dataset.aid;
  var status = document.getElementById("live-status");

  function announce(text) {
    if (!status) return;
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  }

  // Relative times ("5 min ago"), kept current.
  function ago(t) {
    var s = (Date.now() - t.getTime()) / 1000;
    if (s < 45) return "just now";
    if (s < 90 * 60) return Math.max(1, Math.round(s / 60)) + " min ago";
    if (s < 36 * 3600) return Math.round(s / 3600) + " h ago";
    if (s < 60 * 86400) return Math.round(s / 86400) + " days ago";
    return t.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-rel]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (!isNaN(t)) el.textContent = ago(t);
    });
  }
  refreshTimes();
  setInterval(refreshTimes, 30000);

  // The assistant switcher opens the chosen assistant at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Forms a person is typing in are not replaced by live updates.
  document.addEventListener("input", function (e) {
    var f = e.target.form;
    if (f) f.dataset.dirty = "1";
  });

  if (!aid || !window.EventSource || !body.dataset.live) return;

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    return t.content;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // ---- inbox: refresh the rows and counts ----
  function refreshInbox() {
    var box = document.querySelector(".inbox");
    var rows = document.getElementById("rows");
    if (!box || !rows) return;
    fetch("/a/" + aid + "/inbox/rows?" + box.dataset.liveQuery, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        var tabs = document.getElementById("tabs");
        if (tabs) tabs.innerHTML = d.tabs;
        var count = document.getElementById("count");
        if (count) count.textContent = d.count + (d.count === 1 ? " conversation" : " conversations");
        var fresh = Array.prototype.slice.call(fragment(d.rows).children);
        var old = {};
        Array.prototype.forEach.call(rows.children, function (li) { if (li.dataset.id) old[li.dataset.id] = li; });
        var changed = 0;
        var nodes = fresh.map(function (li) {
          var prev = old[li.dataset.id];
          if (prev && prev.innerHTML === li.innerHTML && prev.className.replace(" flash-new", "") === li.className) return prev;
          changed++;
          li.classList.add("flash-new");
          return li;
        });
        nodes.forEach(function (n, i) {
          if (rows.children[i] !== n) rows.insertBefore(n, rows.children[i] || null);
        });
        while (rows.children.length > nodes.length) rows.removeChild(rows.lastElementChild);
        refreshTimes(rows);
        if (changed) announce(changed + (changed === 1 ? " conversation updated" : " conversations updated"));
      })
      .catch(function () {});
  }

  // ---- conversation: new events, current state ----
  var conv = document.querySelector("[data-conversation]");
  function refreshConversation() {
    var tl = document.getElementById("timeline");
    if (!conv || !tl) return;
    var after = tl.dataset.lastOrd || "0";
    fetch("/a/" + aid + "/c/" + conv.dataset.conversation + "/fragment?after=" + encodeURIComponent(after),
      { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        var added = fragment(d.events);
        var fresh = Array.prototype.slice.call(added.children).filter(function (li) {
          return !document.getElementById(li.id);
        });
        fresh.forEach(function (li) { li.classList.add("flash-new"); tl.appendChild(li); });
        tl.dataset.lastOrd = d.last_ord;
        var head = document.getElementById("conv-head");
        if (head) head.innerHTML = d.head;
        var panel = document.getElementById("panel");
        var busy = panel && (panel.contains(document.activeElement) && document.activeElement.tagName !== "BODY" ||
          panel.querySelector("form[data-dirty]"));
        if (panel && !busy) panel.innerHTML = d.panel;
        // The page shows the conversation as it is now: forms act on that version.
        document.querySelectorAll("input[data-version]").forEach(function (el) {
          if (!busy || !panel.contains(el)) el.value = d.version;
        });
        refreshTimes();
        var msgs = fresh.filter(function (li) { return li.classList.contains("ev-message"); });
        if (msgs.length) {
          var last = msgs[msgs.length - 1];
          var who = last.querySelector(".author");
          announce("New message" + (who ? " from " + who.textContent : ""));
          if (window.scrollY + window.innerHeight > document.body.scrollHeight - 300) last.scrollIntoView({ block: "nearest" });
        } else if (fresh.length) {
          announce("Conversation updated");
        }
      })
      .catch(function () {});
  }

  var onInbox = debounce(refreshInbox, 300);
  var onConversation = debounce(refreshConversation, 150);
  var es = new EventSource("/a/" + aid + "/live");
  es.addEventListener("change", function (e) {
    var c;
    try { c = JSON.parse(e.data); } catch (err) { return; }
    if (body.dataset.live === "inbox") onInbox();
    if (body.dataset.live === "conversation" && conv && c.conversation_id === conv.dataset.conversation) onConversation();
  });
  body.dataset.liveReady = "1";
  es.addEventListener("open", function () { body.dataset.liveOpen = "1"; });
})();
