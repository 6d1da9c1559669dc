// sitechat dashboard: every change is a request to the native API with the session cookie and
// its CSRF token; pages are rendered by the server. No framework, no build step.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  // A time as the server's pages write it: "2026-12-07 17:04 UTC".
  function utc(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (csrf) init.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      if (body instanceof FormData) {
        init.body = body;
      } else {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 204) return null;
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var message = data && data.error && data.error.message ? data.error.message : "The server answered " + r.status + ".";
          var error = new Error(message);
          error.status = r.status;
          throw error;
        }
        return data;
      });
    });
  }

  function setPath(target, path, value) {
    var keys = path.split(".");
    var at = target;
    for (var i = 0; i < keys.length - 1; i++) {
      if (typeof at[keys[i]] !== "object" || at[keys[i]] === null) at[keys[i]] = {};
      at = at[keys[i]];
    }
    at[keys[keys.length - 1]] = value;
  }

  // A form's fields as the API's JSON: dotted names nest; data-type says how to read a value.
  function formJson(form) {
    var body = {};
    var omitEmpty = form.hasAttribute("data-omit-empty");
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.closest("fieldset[disabled]")) return;
      var type = el.getAttribute("data-type");
      var value;
      if (el.type === "checkbox") value = el.checked;
      else if (el.type === "number") { if (el.value === "") return; value = Number(el.value); }
      else if (type === "lines") value = el.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
      else if (type === "csv") { value = el.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean); if (!value.length && omitEmpty) return; }
      else if (type === "list") value = [el.value];
      else if (type === "json") {
        if (el.value.trim() === "") value = null;
        else {
          try { value = JSON.parse(el.value); } catch (e) { throw new Error(el.labels && el.labels[0] ? el.labels[0].textContent + ": not valid JSON (" + e.message + ")" : "not valid JSON"); }
        }
      } else {
        value = el.value;
        if (value === "" && (omitEmpty || el.type === "password")) return;
      }
      setPath(body, el.name, value);
    });
    form.querySelectorAll("fieldset[data-hours]").forEach(function (set) {
      if (set.disabled || (set.parentElement && set.parentElement.closest("fieldset[disabled]"))) return;
      setPath(body, set.getAttribute("data-hours"), hoursJson(set));
    });
    return body;
  }

  // The business-hours editor as the API's `business_hours`: null when always open; a zone name
  // or a fixed offset; a slot per filled pair of times on each open day.
  function hoursJson(set) {
    if (set.querySelector("[data-hours-always]").checked) return null;
    var zone = set.querySelector("[data-hours-zone]").value.trim();
    var hours = { slots: [] };
    if (/^[+-]\d{2}:\d{2}$/.test(zone)) hours.utc_offset = zone;
    else hours.time_zone = zone;
    set.querySelectorAll("[data-day]").forEach(function (row) {
      if (!row.querySelector("[data-open-day]").checked) return;
      row.querySelectorAll(".slot").forEach(function (slot, i) {
        var times = slot.querySelectorAll("input[type=time]");
        // Extra pairs left empty are not slots; the first pair of an open day always is.
        if (i > 0 && !times[0].value && !times[1].value) return;
        hours.slots.push({ day: row.getAttribute("data-day"), open: times[0].value, close: times[1].value });
      });
    });
    return hours;
  }

  function syncHours(set) {
    var always = set.querySelector("[data-hours-always]").checked;
    set.querySelector("[data-hours-week]").disabled = always;
    set.querySelectorAll("[data-day]").forEach(function (row) {
      var open = row.querySelector("[data-open-day]").checked;
      row.querySelectorAll("input[type=time], [data-add-slot]").forEach(function (el) { el.disabled = !open; });
    });
  }

  document.querySelectorAll("fieldset[data-hours]").forEach(function (set) {
    var zone = set.querySelector("[data-hours-zone]");
    if (!zone.value && window.Intl) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    syncHours(set);
  });

  function showError(scope, message) {
    var box = scope.querySelector(".form-error") || document.querySelector("[data-table-error]");
    if (box) { box.textContent = message; box.hidden = false; box.focus && box.setAttribute("tabindex", "-1"); }
    else alert(message);
  }

  function clearMessages(scope) {
    scope.querySelectorAll(".form-error, .form-ok").forEach(function (el) { el.hidden = true; });
  }

  // What to do after a change succeeded.
  function then(how, scope, result) {
    if (!how || how === "reload") { location.reload(); return; }
    if (how === "saved" || how === "fixed") {
      var ok = scope.querySelector(".form-ok");
      if (ok) ok.hidden = false;
      // The widget's preview shows the saved branding at once.
      var frame = scope.hasAttribute && scope.hasAttribute("data-preview") ? document.querySelector(".preview iframe") : null;
      if (frame) frame.src = frame.src;
      // The notice that the widget is not public follows what was saved.
      var notice = document.querySelector("[data-private-notice]");
      var saved = result && result.settings;
      if (notice && saved && typeof saved.public_widget === "boolean") notice.hidden = saved.public_widget;
      return;
    }
    if (how === "clear") { scope.reset(); return; }
    if (how === "secret") {
      var box = scope.querySelector("[data-secret]") || (scope.parentElement && scope.parentElement.querySelector("[data-secret]"));
      var secret = result && (result.secret || result.api_key || result.token);
      if (box && secret) { box.hidden = false; box.querySelector("input").value = secret; box.querySelector("input").select(); }
      else location.reload();
      return;
    }
    if (how === "link") {
      var out = document.querySelector("[data-link-out]");
      if (out && result && result.path) {
        out.hidden = false;
        var input = out.querySelector("input");
        input.value = location.origin + result.path;
        input.select();
      }
      return;
    }
    location.href = how.replace(/\{(\w+)\}/g, function (_, key) { return result && result[key] != null ? encodeURIComponent(result[key]) : ""; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-api")) {
      event.preventDefault();
      clearMessages(form);
      var body;
      try { body = formJson(form); } catch (e) { showError(form, e.message); return; }
      var button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      api(form.getAttribute("data-method") || "POST", form.getAttribute("data-api"), body)
        .then(function (result) { then(form.getAttribute("data-then"), form, result); })
        .catch(function (e) { showError(form, e.message); })
        .finally(function () { if (button) button.disabled = false; });
    } else if (form.hasAttribute("data-upload")) {
      event.preventDefault();
      clearMessages(form);
      var file = form.querySelector('input[type="file"]').files[0];
      if (!file) { showError(form, "Choose a file first."); return; }
      var data = new FormData();
      data.append("file", file);
      var sheet = /\.(csv|xlsx)$/i.test(file.name);
      api("POST", sheet ? form.getAttribute("data-upload-sheet") : form.getAttribute("data-upload"), data)
        .then(function () { location.reload(); })
        .catch(function (e) { showError(form, e.message); });
    } else if (form.hasAttribute("data-playground")) {
      event.preventDefault();
      ask(form);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (button) {
      var confirmText = button.getAttribute("data-confirm");
      if (confirmText && !window.confirm(confirmText)) return;
      var raw = button.getAttribute("data-body");
      button.disabled = true;
      var scope = button.closest("section, td, form, div") || document.body;
      api(button.getAttribute("data-method") || "POST", button.getAttribute("data-api"), raw ? JSON.parse(raw) : undefined)
        .then(function (result) { then(button.getAttribute("data-then"), scope, result); })
        .catch(function (e) { showError(scope.closest("section") || scope, e.message); })
        .finally(function () { button.disabled = false; });
      return;
    }
    var add = event.target.closest("[data-add-slot]");
    if (add) {
      // Another pair of times on the day: a split shift.
      var slots = add.parentElement.querySelector(".slots");
      var pair = slots.querySelector(".slot").cloneNode(true);
      var n = slots.querySelectorAll(".slot").length + 1;
      pair.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/ \(\d+\)$/, "") + " (" + n + ")");
      });
      slots.appendChild(pair);
      pair.querySelector("input").focus();
      return;
    }
    var copy = event.target.closest("[data-copy], [data-copy-prev]");
    if (copy) {
      var field = copy.hasAttribute("data-copy") ? document.querySelector(copy.getAttribute("data-copy")) : copy.previousElementSibling;
      field.select();
      (navigator.clipboard ? navigator.clipboard.writeText(field.value) : Promise.reject()).then(
        function () { copy.textContent = "Copied"; },
        function () { document.execCommand && document.execCommand("copy"); copy.textContent = "Copied"; }
      );
      return;
    }
    if (event.target.closest("[data-sign-out]")) {
      api("DELETE", "/v1/session").finally(function () { location.href = "/dashboard/sign-in"; });
    }
  });

  // On a phone, a wide table shows each row as a block of labelled cells (see the CSS for
  // table[data-stack]): each cell is labelled with its column's heading, unless the heading is
  // only for screen readers ("Actions").
  document.querySelectorAll("table[data-stack]").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      var hidden = th.querySelector(".sr-only");
      var text = th.textContent.trim();
      return hidden && hidden.textContent.trim() === text ? "" : text;
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, i) {
          if (heads[i]) cell.setAttribute("data-label", heads[i]);
        });
      });
    });
  });

  // A table that scrolls sideways (on a phone) can be reached and scrolled by keyboard.
  var scrollable = function () {
    document.querySelectorAll("table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) table.setAttribute("tabindex", "0");
      else table.removeAttribute("tabindex");
    });
  };
  scrollable();
  window.addEventListener("resize", scrollable);

  // Sortable tables: each column heading becomes a button; numbers sort as numbers. On a phone a
  // stacked table's headings are hidden, so it is sorted from a "Sort by" list above it instead.
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    var body = table.tBodies[0];
    var listed = Array.prototype.slice.call(body.rows);
    var select = null;
    // column < 0: the rows as the page listed them.
    var sortBy = function (column, ascending) {
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      var rows = listed.slice();
      if (column >= 0) {
        heads[column].setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var key = function (row) {
          var text = row.cells[column] ? row.cells[column].textContent.trim() : "";
          var number = Number(text.replace(/[%\s]/g, ""));
          return text !== "" && !isNaN(number) ? number : text.toLowerCase();
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === "number" ? -1 : 1;
          return ascending ? order : -order;
        });
      }
      rows.forEach(function (row) { body.appendChild(row); });
      if (select) select.value = column < 0 ? "" : column + (ascending ? ":asc" : ":desc");
    };
    var columns = [];
    heads.forEach(function (th, column) {
      if (!th.textContent.trim() || th.querySelector(".sr-only")) return;
      var name = th.textContent.trim();
      columns.push([column, name]);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = name;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(column, th.getAttribute("aria-sort") !== "ascending");
      });
    });
    if (!table.hasAttribute("data-stack") || !columns.length || listed.length < 2) return;
    var label = document.createElement("label");
    label.className = "sort-by";
    label.appendChild(document.createTextNode("Sort by "));
    select = document.createElement("select");
    var option = function (value, text) {
      var o = document.createElement("option");
      o.value = value;
      o.textContent = text;
      select.appendChild(o);
    };
    option("", "As listed");
    columns.forEach(function (c) {
      option(c[0] + ":asc", c[1] + ", ascending");
      option(c[0] + ":desc", c[1] + ", descending");
    });
    select.addEventListener("change", function () {
      var parts = select.value.split(":");
      sortBy(select.value ? Number(parts[0]) : -1, parts[1] !== "desc");
    });
    label.appendChild(select);
    table.parentNode.insertBefore(label, table);
  });

  // A chart's value, shown beside its title when a bar is hovered or focused.
  document.querySelectorAll("figure.chart").forEach(function (figure) {
    var readout = figure.querySelector(".readout");
    var show = function (event) {
      var point = event.target.closest(".pt");
      if (point) readout.textContent = point.getAttribute("aria-label");
    };
    figure.addEventListener("mouseover", show);
    figure.addEventListener("focusin", show);
  });

  // A person's role, changed from the people table.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-role-of]");
    if (select) {
      api("PATCH", "/v1/users/" + select.getAttribute("data-role-of"), { role: select.value })
        .then(function () { location.reload(); })
        .catch(function (e) { showError(document, e.message); });
    }
    var hoursSet = event.target.closest("fieldset[data-hours]");
    if (hoursSet) syncHours(hoursSet);
    var engine = event.target.closest("[data-engine]");
    if (engine) {
      document.querySelectorAll("[data-engine-fields]").forEach(function (set) {
        set.disabled = set.getAttribute("data-engine-fields") !== engine.value;
      });
    }
  });

  // Training progress, live until the job ends.
  var job = document.querySelector("[data-job]");
  if (job) {
    var phaseLine = job.querySelector(".phase");
    var bar = job.querySelector(".bar");
    var skippedBox = job.querySelector(".skipped");
    var polled = false;
    var poll = function () {
      api("GET", "/v1/jobs/" + job.getAttribute("data-job")).then(function (j) {
        var p = j; // a job's progress counts are fields of the job
        job.querySelectorAll("[data-count]").forEach(function (dd) {
          var value = p[dd.getAttribute("data-count")];
          if (value != null) dd.textContent = value;
        });
        var done = ["succeeded", "failed", "cancelled"].indexOf(j.state) >= 0;
        var found = p.pages_discovered || 0;
        var handled = (p.pages_indexed || 0) + (p.pages_skipped || 0) + (p.pages_unchanged || 0);
        // The bar and the line follow the phase running: pages, then passages, then sentences.
        var passages = p.chunks_created || 0;
        var embedding = { embed_passages: p.chunks_embedded || 0, embed_sentences: p.sentences_embedded || 0 }[j.phase];
        var rate = function (r, unit) { return r ? " · " + (r >= 10 ? Math.round(r) : r.toFixed(1)) + " " + unit + " a second" : ""; };
        var pct = done ? 100 : embedding != null && passages ? Math.min(99, Math.round((100 * embedding) / passages)) : found ? Math.min(99, Math.round((100 * handled) / found)) : 0;
        var fill = bar.querySelector("span");
        // A training already over when the page opens shows full at once, not growing.
        fill.style.transition = done && !polled ? "none" : "";
        polled = true;
        fill.style.width = pct + "%";
        bar.setAttribute("aria-valuenow", String(pct));
        var phase = j.state === "queued" ? "Waiting to start" : j.state === "running" ? (found ? "Fetching and indexing pages" : "Finding pages") : "Training " + j.state;
        var counts = found ? " — " + handled + " of " + found + " pages" + (j.state === "running" ? rate(j.rates && j.rates.pages_per_second, "pages") : "") : "";
        if (j.state === "running" && j.phase === "embed_passages") {
          phase = "Embedding passages (the bot already answers on keywords)";
          counts = " — " + embedding + " of " + passages + rate(j.rates && j.rates.passages_per_second, "passages");
        } else if (j.state === "running" && j.phase === "embed_sentences") {
          phase = "Embedding sentences";
          counts = " — " + embedding + " of " + passages + " passages" + rate(j.rates && j.rates.sentence_passages_per_second, "passages");
        }
        if (j.error) phase += ": " + j.error;
        phaseLine.textContent = phase + counts;
        var eta = job.querySelector(".eta");
        if (!done && j.estimated_completion) {
          var secs = Math.max(0, Math.round((new Date(j.estimated_completion) - new Date()) / 1000));
          eta.textContent = "About " + (secs < 90 ? secs + " s" : Math.round(secs / 60) + " min") + " left";
        } else eta.textContent = done && j.finished_at ? "Finished " + utc(j.finished_at) : "";
        if (j.skipped && j.skipped.length) {
          skippedBox.hidden = false;
          var list = skippedBox.querySelector("ul");
          list.textContent = "";
          j.skipped.forEach(function (s) {
            var li = document.createElement("li");
            li.textContent = s.url + " — " + s.reason + (s.message ? ": " + s.message : "");
            list.appendChild(li);
          });
        }
        if (!done) setTimeout(poll, 1000);
      }).catch(function () { setTimeout(poll, 3000); });
    };
    poll();
  }

  // The playground: ask, see the reply with its outcome, confidence and passages; fix it.
  var lastQuestion = "";
  var conversation = null;
  function ask(form) {
    var input = form.querySelector('[name="message"]');
    var question = input.value.trim();
    if (!question) { showError(form, "Type a question first."); return; }
    clearMessages(form);
    lastQuestion = question;
    var out = form.parentElement.querySelector(".playground-result");
    out.textContent = "Asking…";
    var body = { message: question, explain: true, channel: "playground" };
    if (conversation) body.conversation_id = conversation;
    api("POST", "/v1/bots/" + form.getAttribute("data-playground") + "/chat", body).then(function (r) {
      conversation = r.conversation_id;
      out.textContent = "";
      var box = document.createElement("div");
      box.className = "answer";
      var metaLine = document.createElement("p");
      metaLine.className = "meta";
      metaLine.innerHTML = "";
      [["Outcome", r.outcome || "—"], ["Confidence", r.confidence == null ? "—" : r.confidence.toFixed(2)], ["Conversation", r.status]].forEach(function (pair) {
        var span = document.createElement("span");
        span.textContent = pair[0] + ": " + pair[1];
        span.setAttribute("data-" + pair[0].toLowerCase(), pair[1]);
        metaLine.appendChild(span);
      });
      box.appendChild(metaLine);
      var reply = document.createElement("p");
      reply.className = "reply";
      reply.setAttribute("data-reply", "");
      reply.textContent = r.reply || "(no reply: a person has the conversation)";
      box.appendChild(reply);
      if (r.sources && r.sources.length) {
        var h = document.createElement("h3");
        h.textContent = "Passages it came from";
        box.appendChild(h);
        var ol = document.createElement("ol");
        r.sources.forEach(function (s) {
          var li = document.createElement("li");
          var title = s.url ? document.createElement("a") : document.createElement("strong");
          title.textContent = s.title;
          if (s.url) { title.href = s.url; title.rel = "noreferrer"; }
          li.appendChild(title);
          var quote = document.createElement("blockquote");
          quote.textContent = s.snippet;
          li.appendChild(quote);
          ol.appendChild(li);
        });
        box.appendChild(ol);
      }
      out.appendChild(box);
      openFix(question, r.reply || "");
    }).catch(function (e) { out.textContent = ""; showError(form, e.message); });
  }

  function openFix(question, answer) {
    var fix = document.querySelector("[data-fix]");
    if (!fix) return;
    fix.hidden = false;
    fix.querySelector('[name="question"]').value = question;
    var area = fix.querySelector('[name="answer"]');
    if (!area.value || area.getAttribute("data-auto") === "1") { area.value = answer; area.setAttribute("data-auto", "1"); }
    fix.querySelectorAll(".form-ok").forEach(function (el) { el.hidden = true; });
  }

  var wanted = new URLSearchParams(location.search).get("q");
  var playground = document.querySelector("[data-playground]");
  if (playground && wanted) {
    playground.querySelector('[name="message"]').value = wanted;
    openFix(wanted, "");
  }

  // The inbox: the list follows the account's live stream, the open thread its own.
  var list = document.querySelector("[data-inbox-list]");
  if (list) {
    var pending = null;
    var refresh = function () {
      pending = null;
      fetch(list.getAttribute("data-inbox-list"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html != null && html !== list.innerHTML) list.innerHTML = html; })
        .catch(function () {});
    };
    var soon = function () { if (!pending) pending = setTimeout(refresh, 300); };
    if (window.EventSource) {
      var inbox = new EventSource("/v1/inbox/stream");
      inbox.addEventListener("conversation", function (e) {
        if (JSON.parse(e.data).kind !== "typing") soon();
      });
      inbox.addEventListener("open", soon); // after a reconnection, catch up
    }
    setInterval(refresh, 30000); // and a slow safety net
  }
  var thread = document.querySelector("[data-thread]");
  if (thread && window.EventSource) {
    var messages = thread.querySelector("[data-messages]");
    var typing = thread.querySelector("[data-typing]");
    var seen = {};
    var source = new EventSource("/v1/conversations/" + thread.getAttribute("data-thread") + "/stream");
    source.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      if (seen[m.id]) return;
      seen[m.id] = true;
      var li = document.createElement("li");
      li.className = "msg " + m.role;
      var author = document.createElement("span");
      author.className = "author";
      author.textContent = m.role === "agent" ? m.author || "Agent" : m.role.charAt(0).toUpperCase() + m.role.slice(1);
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = m.text;
      li.appendChild(author);
      li.appendChild(text);
      messages.appendChild(li);
      messages.scrollTop = messages.scrollHeight;
      typing.textContent = "";
    });
    source.addEventListener("typing", function (e) {
      var t = JSON.parse(e.data);
      if (t.role === "visitor") {
        typing.textContent = t.typing === false ? "" : "The visitor is typing…";
      }
    });
    source.addEventListener("status", function (e) {
      var s = JSON.parse(e.data);
      if (s.status !== thread.getAttribute("data-status")) location.reload();
    });
    messages.scrollTop = messages.scrollHeight;
    var reply = thread.querySelector("form.reply textarea");
    var lastTyping = 0;
    if (reply) {
      reply.addEventListener("input", function () {
        var now = Date.now();
        if (now - lastTyping > 3000) {
          lastTyping = now;
          api("POST", "/v1/conversations/" + thread.getAttribute("data-thread") + "/typing", { role: "agent" }).catch(function () {});
        }
      });
      reply.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); reply.form.requestSubmit(); }
      });
    }
  }
})();
