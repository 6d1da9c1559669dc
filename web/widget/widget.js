/* sitechat chat widget. One tag puts it on a page:
 *   <script src="https://HOST/widget.js" data-bot="bot_…" async></script>
 * It renders in a shadow root (the page's CSS never reaches it, its CSS never leaves it), talks
 * only to the public visitor API of the server it came from (/v1/public), and adds one global:
 * `sitechat` with open(), close(), identify(userId, userHash) and on(event, fn).
 * Every text it shows is set as text, never parsed as HTML. No dependencies. */
(function () {
  "use strict";
  if (window.sitechat && window.sitechat.version) return;
  var script = document.currentScript || document.querySelector("script[data-bot]");
  if (!script || !script.dataset.bot) return;
  var BOT = script.dataset.bot;
  var BASE = new URL(script.src, location.href).origin;
  var STORE = "sitechat:" + BOT;

  var TEXTS = {
    en: { email: "Your email", leave: "Send", consent: "We use your email only to answer your question.", saved: "Thanks, we will get back to you.", invalid: "Please check this address.", star: "{n} of 5",
      open: "Open chat", close: "Close chat", placeholder: "Write a message…", send: "Send",
      message: "Your message", instant: "Usually answers instantly", waiting: "Waiting for a person…",
      away: "Our team is away; leave your email and we will get back to you.", joined: "{name} joined",
      agent: "A person is answering", ended: "This conversation has ended.", restart: "Start a new conversation",
      sources: "Sources", typing: "Typing…", offline: "Connection lost, retrying…", unavailable: "This chat is not available on this page.",
      failed: "The message could not be sent. Try again.", rate: "How was this conversation?", thanks: "Thank you!",
      helpful: "Helpful", unhelpful: "Not helpful", person: "Talk to a person", unread: "unread messages" },
    fr: { email: "Votre e-mail", leave: "Envoyer", consent: "Nous utilisons votre e-mail uniquement pour répondre à votre question.", saved: "Merci, nous revenons vers vous.", invalid: "Vérifiez cette adresse.", star: "{n} sur 5",
      open: "Ouvrir le chat", close: "Fermer le chat", placeholder: "Écrivez un message…", send: "Envoyer",
      message: "Votre message", instant: "Répond en général tout de suite", waiting: "En attente d'un conseiller…",
      away: "Notre équipe est absente ; laissez votre e-mail et nous vous recontacterons.", joined: "{name} a rejoint la conversation",
      agent: "Un conseiller vous répond", ended: "Cette conversation est terminée.", restart: "Nouvelle conversation",
      sources: "Sources", typing: "Écrit…", offline: "Connexion perdue, nouvelle tentative…", unavailable: "Ce chat n'est pas disponible sur cette page.",
      failed: "Le message n'a pas pu être envoyé. Réessayez.", rate: "Comment s'est passée cette conversation ?", thanks: "Merci !",
      helpful: "Utile", unhelpful: "Pas utile", person: "Parler à un conseiller", unread: "messages non lus" },
    es: { email: "Tu correo", leave: "Enviar", consent: "Usamos tu correo solo para responder a tu pregunta.", saved: "Gracias, te responderemos.", invalid: "Revisa esta dirección.", star: "{n} de 5",
      open: "Abrir el chat", close: "Cerrar el chat", placeholder: "Escribe un mensaje…", send: "Enviar",
      message: "Tu mensaje", instant: "Suele responder al instante", waiting: "Esperando a un agente…",
      away: "Nuestro equipo no está; deja tu correo y te responderemos.", joined: "{name} se ha unido",
      agent: "Una persona te atiende", ended: "Esta conversación ha terminado.", restart: "Empezar una nueva conversación",
      sources: "Fuentes", typing: "Escribiendo…", offline: "Conexión perdida, reintentando…", unavailable: "Este chat no está disponible en esta página.",
      failed: "No se pudo enviar el mensaje. Inténtalo de nuevo.", rate: "¿Qué tal esta conversación?", thanks: "¡Gracias!",
      helpful: "Útil", unhelpful: "No útil", person: "Hablar con una persona", unread: "mensajes sin leer" },
    de: { email: "Ihre E-Mail", leave: "Senden", consent: "Wir nutzen Ihre E-Mail nur, um Ihre Frage zu beantworten.", saved: "Danke, wir melden uns.", invalid: "Bitte prüfen Sie diese Adresse.", star: "{n} von 5",
      open: "Chat öffnen", close: "Chat schließen", placeholder: "Nachricht schreiben…", send: "Senden",
      message: "Ihre Nachricht", instant: "Antwortet meist sofort", waiting: "Warten auf einen Mitarbeiter…",
      away: "Unser Team ist nicht da; hinterlassen Sie Ihre E-Mail, wir melden uns.", joined: "{name} ist beigetreten",
      agent: "Ein Mitarbeiter antwortet", ended: "Dieses Gespräch ist beendet.", restart: "Neues Gespräch beginnen",
      sources: "Quellen", typing: "Schreibt…", offline: "Verbindung verloren, neuer Versuch…", unavailable: "Dieser Chat ist auf dieser Seite nicht verfügbar.",
      failed: "Die Nachricht konnte nicht gesendet werden. Bitte erneut versuchen.", rate: "Wie war dieses Gespräch?", thanks: "Danke!",
      helpful: "Hilfreich", unhelpful: "Nicht hilfreich", person: "Mit einem Menschen sprechen", unread: "ungelesene Nachrichten" },
    ms: { email: "E-mel anda", leave: "Hantar", consent: "Kami menggunakan e-mel anda hanya untuk menjawab soalan anda.", saved: "Terima kasih, kami akan menghubungi anda.", invalid: "Sila semak alamat ini.", star: "{n} daripada 5",
      open: "Buka sembang", close: "Tutup sembang", placeholder: "Tulis mesej…", send: "Hantar",
      message: "Mesej anda", instant: "Biasanya menjawab serta-merta", waiting: "Menunggu ejen…",
      away: "Pasukan kami tiada; tinggalkan e-mel anda dan kami akan menghubungi anda.", joined: "{name} telah menyertai",
      agent: "Seorang ejen sedang menjawab", ended: "Perbualan ini telah tamat.", restart: "Mulakan perbualan baharu",
      sources: "Sumber", typing: "Sedang menaip…", offline: "Sambungan terputus, mencuba semula…", unavailable: "Sembang ini tidak tersedia di halaman ini.",
      failed: "Mesej tidak dapat dihantar. Cuba lagi.", rate: "Bagaimana perbualan ini?", thanks: "Terima kasih!",
      helpful: "Membantu", unhelpful: "Tidak membantu", person: "Bercakap dengan manusia", unread: "mesej belum dibaca" },
    id: { email: "Email Anda", leave: "Kirim", consent: "Kami menggunakan email Anda hanya untuk menjawab pertanyaan Anda.", saved: "Terima kasih, kami akan menghubungi Anda.", invalid: "Periksa alamat ini.", star: "{n} dari 5",
      open: "Buka obrolan", close: "Tutup obrolan", placeholder: "Tulis pesan…", send: "Kirim",
      message: "Pesan Anda", instant: "Biasanya menjawab seketika", waiting: "Menunggu agen…",
      away: "Tim kami sedang tidak ada; tinggalkan email Anda dan kami akan menghubungi Anda.", joined: "{name} bergabung",
      agent: "Seorang agen sedang menjawab", ended: "Percakapan ini telah berakhir.", restart: "Mulai percakapan baru",
      sources: "Sumber", typing: "Mengetik…", offline: "Koneksi terputus, mencoba lagi…", unavailable: "Obrolan ini tidak tersedia di halaman ini.",
      failed: "Pesan tidak dapat dikirim. Coba lagi.", rate: "Bagaimana percakapan ini?", thanks: "Terima kasih!",
      helpful: "Membantu", unhelpful: "Tidak membantu", person: "Bicara dengan orang", unread: "pesan belum dibaca" }
  };
  function textsFor(lang) {
    var primary = String(lang || "").toLowerCase().split("-")[0];
    return TEXTS[primary] || TEXTS.en;
  }
  var t = textsFor(document.documentElement.lang);

  // ---------------------------------------------------------------- colours
  function rgb(hex) {
    var m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(String(hex || ""));
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    var n = parseInt(h, 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  function luminance(c) {
    var v = c.map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function hex(c) { return "#" + c.map(function (x) { return ("0" + Math.round(x).toString(16)).slice(-2); }).join(""); }
  // The brand colour, darkened until white text on it reaches WCAG AA (4.5:1).
  function readable(color) {
    var c = rgb(color) || [79, 70, 229];
    for (var i = 0; i < 20 && contrast(c, [255, 255, 255]) < 4.5; i++) c = c.map(function (x) { return x * 0.92; });
    return hex(c);
  }

  // ---------------------------------------------------------------- the elements
  var host = document.createElement("div");
  host.setAttribute("data-sitechat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>' +
    ':host{all:initial}' +
    '*{box-sizing:border-box}' +
    '.sc{--brand:#4f46e5;--bg:#fff;--fg:#1f2937;--muted:#4b5563;--line:#e5e7eb;--soft:#f3f4f6;' +
    'font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);position:fixed;z-index:2147483000;bottom:20px;right:20px}' +
    '.sc.left{right:auto;left:20px}.sc.top{bottom:auto;top:20px}' +
    '.sc.dark{--bg:#111827;--fg:#f9fafb;--muted:#d1d5db;--line:#374151;--soft:#1f2937}' +
    '.launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--brand);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative}' +
    '.launcher svg{width:26px;height:26px;fill:currentColor}' +
    '.bubble{position:absolute;bottom:8px;right:68px;max-width:240px;background:var(--bg);color:var(--fg);border-radius:12px;padding:8px 12px;box-shadow:0 4px 14px rgba(0,0,0,.18);white-space:normal;cursor:pointer;border:0;font:inherit;text-align:left}' +
    '.sc.left .bubble{right:auto;left:68px}.bubble[hidden]{display:none}' +
    '.msg a{color:inherit;text-decoration:underline}' +
    '.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#b91c1c;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}' +
    'button:focus-visible,a:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}' +
    '.panel{position:absolute;bottom:72px;right:0;width:380px;height:600px;max-height:calc(100vh - 110px);background:var(--bg);border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:flex;flex-direction:column;overflow:hidden}' +
    '.sc.left .panel{right:auto;left:0}.sc.top .panel{bottom:auto;top:72px}' +
    '.panel[hidden]{display:none}' +
    'header{display:flex;align-items:center;gap:10px;padding:14px 16px;background:var(--brand);color:#fff}' +
    'header img{width:32px;height:32px;border-radius:50%;object-fit:cover;background:#fff}' +
    'header .who{flex:1;min-width:0}' +
    'h2{margin:0;font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
    '.status{margin:2px 0 0;font-size:13px;opacity:.95}' +
    '.close{border:0;background:transparent;color:#fff;font-size:24px;line-height:1;cursor:pointer;width:36px;height:36px;border-radius:8px}' +
    '.log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px;background:var(--bg)}' +
    '.msg{max-width:85%;padding:9px 12px;border-radius:14px;white-space:pre-line;overflow-wrap:anywhere}' +
    '.msg.visitor{align-self:flex-end;background:var(--brand);color:#fff;border-bottom-right-radius:4px}' +
    '.msg.bot,.msg.agent,.msg.system{align-self:flex-start;background:var(--soft);color:var(--fg);border-bottom-left-radius:4px}' +
    '.msg.system{font-style:italic;color:var(--muted)}' +
    '.author{display:block;font-size:12px;font-weight:600;color:var(--muted);margin-bottom:2px}' +
    '.sources{margin:6px 0 0;padding:6px 0 0;border-top:1px solid var(--line);font-size:13px;list-style:none}' +
    '.sources li{margin:2px 0}.sources a{color:var(--fg);text-decoration:underline}' +
    '.chips{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}' +
    '.chip{border:1px solid var(--brand);background:var(--bg);color:var(--fg);border-radius:999px;padding:6px 12px;cursor:pointer;font:inherit}' +
    '.thumbs{display:flex;gap:4px;margin-top:4px}.thumbs button{border:0;background:transparent;cursor:pointer;color:var(--muted);padding:4px;border-radius:6px;width:28px;height:28px}.thumbs svg{width:16px;height:16px;fill:currentColor}.thumbs .down svg{transform:rotate(180deg)}' +
    '.dots span{display:inline-block;width:6px;height:6px;margin:0 2px;border-radius:50%;background:var(--muted);animation:b 1s infinite}' +
    '.dots span:nth-child(2){animation-delay:.15s}.dots span:nth-child(3){animation-delay:.3s}' +
    '@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}' +
    '@media (prefers-reduced-motion:reduce){.dots span{animation:none}}' +
    '.lead{align-self:stretch;display:flex;flex-direction:column;gap:6px;padding:10px;border:1px solid var(--line);border-radius:12px;text-align:left}' +
    '.lead label{font-size:13px;font-weight:600}.lead input{font:inherit;padding:8px;border:1px solid var(--line);border-radius:8px;color:var(--fg);background:var(--bg)}' +
    '.lead .consent{margin:0;font-size:12px;color:var(--muted)}.lead .error{margin:0;font-size:12px;color:#b91c1c}' +
    '.lead button,.stars button{align-self:flex-start;border:0;border-radius:8px;background:var(--brand);color:#fff;padding:7px 14px;cursor:pointer;font:inherit}' +
    '.stars{align-self:stretch;display:flex;flex-direction:column;gap:6px}.stars div{display:flex;gap:4px}' +
    '.stars div button{background:var(--soft);color:var(--fg);width:36px;padding:6px 0}' +
    '.notice{margin:0 16px 8px;padding:8px 10px;border-radius:8px;background:#fef3c7;color:#78350f;font-size:13px}' +
    '.notice[hidden]{display:none}' +
    '.composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid var(--line);background:var(--bg)}' +
    'textarea{flex:1;resize:none;border:1px solid var(--line);border-radius:10px;padding:9px 10px;font:inherit;color:var(--fg);background:var(--bg);max-height:110px}' +
    '.send{border:0;border-radius:10px;background:var(--brand);color:#fff;width:40px;height:40px;cursor:pointer}' +
    '.send svg{width:18px;height:18px;fill:currentColor}' +
    'textarea:disabled{background:var(--soft);cursor:not-allowed}.send:disabled{opacity:.45;cursor:not-allowed}' +
    '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}' +
    '@media (max-width:480px){.panel{position:fixed;inset:0;width:100vw;height:100%;max-height:none;border-radius:0}.sc.open .launcher{display:none}}' +
    '</style>' +
    '<div class="sc">' +
    '<section class="panel" role="dialog" aria-labelledby="sc-title" hidden>' +
    '<header><img class="logo" alt="" hidden><div class="who"><h2 id="sc-title"></h2><p class="status" aria-live="polite"></p></div>' +
    '<button type="button" class="close"><span aria-hidden="true">×</span></button></header>' +
    '<div class="log" role="log" aria-live="polite"></div>' +
    '<p class="notice" role="alert" hidden></p>' +
    '<form class="composer"><label class="sr" for="sc-input"></label><textarea id="sc-input" rows="1"></textarea>' +
    '<button type="submit" class="send"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z"/></svg><span class="sr send-label"></span></button></form>' +
    '</section>' +
    '<button type="button" class="bubble" tabindex="-1" aria-hidden="true" hidden></button>' +
    '<button type="button" class="launcher" aria-expanded="false"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg><span class="badge" hidden></span></button>' +
    '</div>';
  var $ = function (s) { return root.querySelector(s); };
  var box = $(".sc"), panel = $(".panel"), launcher = $(".launcher"), badge = $(".badge"),
    log = $(".log"), input = $("textarea"), form = $("form.composer"), notice = $(".notice"),
    statusLine = $(".status"), title = $("h2"), closeButton = $(".close"), logo = $(".logo"),
    nudge = $(".bubble");

  function applyTexts() {
    launcher.setAttribute("aria-label", t.open);
    closeButton.setAttribute("aria-label", t.close);
    input.placeholder = t.placeholder;
    $(".composer label").textContent = t.message;
    $(".send-label").textContent = t.send;
  }
  applyTexts();

  // ---------------------------------------------------------------- state
  var bot = null, visit = null, identity = null, events = null, unread = 0, busy = false;
  var seen = {}, handlers = {};
  try { visit = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { visit = null; }
  function save() { try { localStorage.setItem(STORE, JSON.stringify(visit)); } catch (e) { /* private mode */ } }
  function emit(name, data) { (handlers[name] || []).forEach(function (f) { try { f(data); } catch (e) { /* a host's handler */ } }); }

  function api(method, path, body) {
    var headers = { "content-type": "application/json" };
    if (visit && visit.token && path.indexOf("/v1/public/conversations/") === 0) headers.authorization = "Bearer " + visit.token;
    return fetch(BASE + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  function say(text) { notice.textContent = text; notice.hidden = !text; }
  function setStatus(text) { statusLine.textContent = text; }

  // ---------------------------------------------------------------- rendering (text only)
  function safeUrl(url) {
    try { var u = new URL(url, location.href); return u.protocol === "https:" || u.protocol === "http:" ? u.href : null; } catch (e) { return null; }
  }
  // A message's text, with Markdown links `[title](https://…)` and bare http(s) URLs as links;
  // everything else is text.
  function setText(el, text) {
    while (el.firstChild) el.removeChild(el.firstChild);
    var pattern = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/g;
    var at = 0, m;
    text = String(text || "");
    while ((m = pattern.exec(text))) {
      if (m.index > at) el.appendChild(document.createTextNode(text.slice(at, m.index)));
      var url = safeUrl(m[2] || m[3]);
      if (url) {
        var a = document.createElement("a");
        a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
        a.textContent = m[1] || m[3];
        el.appendChild(a);
      } else {
        el.appendChild(document.createTextNode(m[0]));
      }
      at = m.index + m[0].length;
    }
    if (at < text.length) el.appendChild(document.createTextNode(text.slice(at)));
  }
  function bubble(role, text, author) {
    var el = document.createElement("div");
    el.className = "msg " + role;
    if (author && role === "agent") {
      var who = document.createElement("span");
      who.className = "author";
      who.textContent = author;
      el.appendChild(who);
    }
    var body = document.createElement("span");
    body.className = "text";
    if (role === "visitor") body.textContent = text || ""; else setText(body, text);
    el.appendChild(body);
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }
  function addSources(el, sources) {
    var links = (sources || []).filter(function (s) { return safeUrl(s.url); });
    if (!links.length) return;
    var list = document.createElement("ul");
    list.className = "sources";
    list.setAttribute("aria-label", t.sources);
    var shown = {};
    links.forEach(function (s) {
      var url = safeUrl(s.url);
      if (shown[url]) return;
      shown[url] = true;
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
      a.textContent = s.title || url;
      li.appendChild(a); list.appendChild(li);
    });
    el.appendChild(list);
  }
  function addThumbs(el, messageId) {
    if (!messageId) return;
    var row = document.createElement("div");
    row.className = "thumbs";
    [["up", t.helpful], ["down", t.unhelpful]].forEach(function (k) {
      var b = document.createElement("button");
      b.type = "button"; b.className = k[0]; b.setAttribute("aria-label", k[1]);
      var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      icon.setAttribute("viewBox", "0 0 24 24"); icon.setAttribute("aria-hidden", "true");
      var shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
      shape.setAttribute("d", "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
      icon.appendChild(shape); b.appendChild(icon);
      b.addEventListener("click", function () {
        api("POST", "/v1/public/conversations/" + visit.conversation_id + "/messages/" + messageId + "/feedback", { thumb: k[0] });
        row.textContent = t.thanks;
      });
      row.appendChild(b);
    });
    el.appendChild(row);
  }
  // Thumbs are for answers from the bot's knowledge, not for its fallback or small talk.
  function rated(outcome) { return outcome === "answered" || outcome === "curated"; }
  function chips(buttons) {
    var old = log.querySelector(".chips");
    if (old) old.remove();
    if (!buttons || !buttons.length) return;
    var row = document.createElement("div");
    row.className = "chips";
    buttons.forEach(function (b) {
      var c = document.createElement("button");
      c.type = "button"; c.className = "chip"; c.textContent = b.title;
      c.addEventListener("click", function () { row.remove(); send(b.title); });
      row.appendChild(c);
    });
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }
  function typing() {
    var el = document.createElement("div");
    el.className = "msg bot dots";
    el.setAttribute("aria-label", t.typing);
    el.appendChild(document.createElement("span"));
    el.appendChild(document.createElement("span"));
    el.appendChild(document.createElement("span"));
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }
  function showStatus(status, assignee) {
    if (status === "waiting_for_agent") setStatus(bot && bot.open === false ? t.away : t.waiting);
    else if (status === "agent") setStatus(assignee ? t.joined.replace("{name}", assignee) : t.agent);
    else if (status === "ended") { setStatus(t.ended); input.disabled = true; rating(); }
    else setStatus(t.instant);
  }
  // The contact form, inline in the thread, when a fallback asks for contact details.
  function leadForm() {
    if (log.querySelector(".lead") || !visit) return;
    var form = document.createElement("form");
    form.className = "lead";
    form.noValidate = true;
    var id = "sc-email-" + Date.now();
    var label = document.createElement("label"); label.htmlFor = id; label.textContent = t.email;
    var field = document.createElement("input"); field.id = id; field.type = "email"; field.autocomplete = "email"; field.required = true;
    var error = document.createElement("p"); error.className = "error"; error.id = id + "-error"; error.hidden = true;
    field.setAttribute("aria-describedby", error.id);
    var consent = document.createElement("p"); consent.className = "consent"; consent.textContent = (bot && bot.consent_text) || t.consent;
    var submit = document.createElement("button"); submit.type = "submit"; submit.textContent = t.leave;
    [label, field, error, consent, submit].forEach(function (el) { form.appendChild(el); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/v1/public/conversations/" + visit.conversation_id + "/contact", { email: field.value })
        .then(function (r) {
          if (r.ok) { form.textContent = t.saved; form.setAttribute("role", "status"); emit("lead", {}); return; }
          error.textContent = t.invalid; error.hidden = false; field.setAttribute("aria-invalid", "true"); field.focus();
        });
    });
    log.appendChild(form);
    log.scrollTop = log.scrollHeight;
  }
  // The rating, once the conversation has ended.
  function rating() {
    if (log.querySelector(".stars") || !visit) return;
    var box = document.createElement("div");
    box.className = "stars";
    var ask = document.createElement("p"); ask.textContent = t.rate; ask.style.margin = "0";
    var row = document.createElement("div"); row.setAttribute("role", "group"); row.setAttribute("aria-label", t.rate);
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = document.createElement("button"); b.type = "button"; b.textContent = String(n);
      b.setAttribute("aria-label", t.star.replace("{n}", n));
      b.addEventListener("click", function () {
        api("POST", "/v1/public/conversations/" + visit.conversation_id + "/rating", { rating: n });
        ask.textContent = t.thanks;
        ask.setAttribute("role", "status");
        row.remove();
        again.focus();
      });
      row.appendChild(b);
    });
    var again = document.createElement("button"); again.type = "button"; again.className = "again"; again.textContent = t.restart;
    again.addEventListener("click", function () {
      if (events) { events.close(); events = null; }
      visit = null; save(); seen = {};
      while (log.firstChild) log.removeChild(log.firstChild);
      if (bot && bot.greeting) bubble("bot", bot.greeting);
      showStatus("bot"); input.disabled = false; input.focus();
    });
    box.appendChild(ask); box.appendChild(row); box.appendChild(again);
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }
  // After the live stream was lost: what was said meanwhile, once.
  function catchUp() {
    if (!visit) return;
    api("GET", "/v1/public/conversations/" + visit.conversation_id).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (c) { (c.messages || []).forEach(function (m) { render(m); }); showStatus(c.status, c.assignee); if (c.status === "ended") rating(); });
    });
  }
  // A message of the conversation; one not read yet (said live while the panel is closed)
  // counts on the launcher's badge, one from the history does not.
  function render(m, history) {
    if (!m || seen[m.id]) return;
    seen[m.id] = true;
    var el = bubble(m.role, m.text, m.author);
    if (m.role === "bot") { addSources(el, m.sources); if (rated(m.outcome)) addThumbs(el, m.id); }
    if (m.role !== "visitor" && panel.hidden && !history) { unread++; badge.textContent = String(unread); badge.hidden = false; launcher.setAttribute("aria-label", t.open + " (" + unread + " " + t.unread + ")"); }
    emit("message", { role: m.role, text: m.text });
  }

  // ---------------------------------------------------------------- the conversation
  function start() {
    return api("POST", "/v1/public/bots/" + encodeURIComponent(BOT) + "/conversations", identity || undefined)
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw b; return b; }); })
      .then(function (b) { visit = { conversation_id: b.conversation_id, token: b.token, identified: !!identity }; save(); follow(); return visit; });
  }
  function resume() {
    if (!visit) return Promise.resolve(null);
    return api("GET", "/v1/public/conversations/" + visit.conversation_id).then(function (r) {
      if (r.status === 401 || r.status === 404) { visit = null; save(); return null; }
      return r.json().then(function (c) {
        (c.messages || []).forEach(function (m) { render(m, true); });
        showStatus(c.status, c.assignee);
        follow();
        return visit;
      });
    });
  }
  function follow() {
    if (events || !visit || typeof EventSource === "undefined") return;
    events = new EventSource(BASE + "/v1/public/conversations/" + visit.conversation_id + "/stream?token=" + encodeURIComponent(visit.token));
    var lost = false;
    events.addEventListener("open", function () { if (lost) { lost = false; catchUp(); } });
    events.addEventListener("error", function () { lost = true; setStatus(t.offline); });
    events.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      // The visitor's own messages and the bot's replies come with the request that sent them.
      if (m.role === "agent" || m.role === "system" || (!busy && !seen[m.id])) render(m);
    });
    events.addEventListener("status", function (e) { var s = JSON.parse(e.data); showStatus(s.status, s.assignee); emit("status", s); });
    events.addEventListener("typing", function (e) { var s = JSON.parse(e.data); if (s.role === "agent") setStatus(t.typing); });
  }
  function readStream(response, onEvent) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(function (raw) {
          var name = "message", data = "";
          raw.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).replace(/^ /, "");
          });
          if (data) onEvent(name, JSON.parse(data));
        });
        return pump();
      });
    }
    return pump();
  }
  function send(text) {
    text = String(text || "").trim();
    if (!text || busy) return;
    busy = true;
    say("");
    var mine = bubble("visitor", text);
    var pending = typing(), reply = null, answer = "";
    chips([]);
    (visit ? Promise.resolve(visit) : start())
      .then(function () { return api("POST", "/v1/public/conversations/" + visit.conversation_id + "/messages", { message: text, stream: true }); })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (b) { throw b; });
        return readStream(r, function (name, data) {
          if (name === "delta") {
            if (!reply) { pending.remove(); reply = bubble("bot", ""); }
            answer += data.text;
            reply.querySelector(".text").textContent = answer;
            log.scrollTop = log.scrollHeight;
          } else if (name === "reset") {
            answer = ""; if (reply) reply.querySelector(".text").textContent = "";
          } else if (name === "done") {
            pending.remove();
            seen[data.visitor_message_id] = true;
            if (data.message_id) seen[data.message_id] = true;
            if (data.reply === null || data.reply === undefined) { if (reply) reply.remove(); showStatus(data.status); return; }
            if (!reply) reply = bubble("bot", "");
            setText(reply.querySelector(".text"), data.reply);
            addSources(reply, data.sources);
            if (rated(data.outcome)) addThumbs(reply, data.message_id);
            chips(data.buttons);
            showStatus(data.status);
            if (data.outcome === "fallback" && data.contact_id === null) leadForm();
            emit("message", { role: "bot", text: data.reply });
          } else if (name === "error") {
            throw data;
          }
        });
      })
      .catch(function (e) {
        pending.remove();
        if (reply && !answer) reply.remove();
        var message = e && e.error && e.error.message;
        say(message && /origin|allowed|public widget/.test(message) ? t.unavailable : t.failed);
        mine.setAttribute("data-failed", "");
      })
      .then(function () { busy = false; });
  }

  // ---------------------------------------------------------------- opening and closing
  function open() {
    panel.hidden = false;
    nudge.hidden = true;
    box.classList.add("open");
    // A signed-in visitor's conversation, from any device, is there as soon as they open.
    if (!visit && identity && bot) start().then(resume).catch(function () { say(t.failed); });
    launcher.setAttribute("aria-expanded", "true");
    unread = 0; badge.hidden = true; launcher.setAttribute("aria-label", t.open);
    input.focus();
    emit("open");
  }
  function close() {
    panel.hidden = true;
    box.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
    emit("close");
  }
  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  nudge.addEventListener("click", function () { open(); });
  closeButton.addEventListener("click", close);
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) close(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); var v = input.value; input.value = ""; input.style.height = ""; send(v); });
  input.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); } });
  input.addEventListener("input", function () { input.style.height = ""; input.style.height = Math.min(input.scrollHeight, 110) + "px"; });

  // ---------------------------------------------------------------- start
  function boot() {
    document.body.appendChild(host);
    fetch(BASE + "/v1/public/bots/" + encodeURIComponent(BOT))
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw b; return b; }); })
      .then(function (b) {
        bot = b;
        t = textsFor(document.documentElement.lang || b.language);
        if (!TEXTS[String(document.documentElement.lang || "").split("-")[0]]) t = textsFor(b.language);
        applyTexts();
        var brand = b.branding || {};
        box.style.setProperty("--brand", readable(brand.primary_color));
        var darkTheme = brand.theme === "dark" || (brand.theme === "auto" && window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
        if (darkTheme) box.classList.add("dark");
        var bg = rgb(brand.background_color), fg = rgb(brand.text_color);
        // The owner's own background and text colours, when they keep AA contrast.
        if (!darkTheme && bg && fg && contrast(bg, fg) >= 4.5) {
          box.style.setProperty("--bg", hex(bg));
          box.style.setProperty("--fg", hex(fg));
          box.style.setProperty("--muted", hex(fg));
        }
        var said = false;
        try { said = sessionStorage.getItem(STORE + ":nudged") === "1"; } catch (e) { said = false; }
        if (brand.launcher_text && !said && !visit) {
          nudge.textContent = brand.launcher_text;
          nudge.hidden = false;
          try { sessionStorage.setItem(STORE + ":nudged", "1"); } catch (e) { /* private mode */ }
        }
        if (/left/.test(brand.position || "")) box.classList.add("left");
        if (/top/.test(brand.position || "")) box.classList.add("top");
        if (brand.logo_url && safeUrl(brand.logo_url)) { logo.src = safeUrl(brand.logo_url); logo.hidden = false; }
        title.textContent = b.name;
        showStatus("bot");
        if (b.greeting) bubble("bot", b.greeting);
        return resume();
      })
      .catch(function () {
        title.textContent = "";
        say(t.unavailable);
        input.disabled = true;
        $(".send").disabled = true;
      });
  }
  window.sitechat = {
    version: 1,
    open: open,
    close: close,
    identify: function (userId, userHash) {
      identity = { user_id: String(userId), user_hash: String(userHash) };
      if (visit && !visit.identified) { visit = null; save(); }
    },
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); }
  };
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
})();
