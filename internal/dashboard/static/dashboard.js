// Causeway dashboard: reads the state and the recent orders from the
// server-sent event stream GET /v1/dashboard/stream (read with fetch, so the
// token goes in the Authorization header as for every other call), polls
// them instead while the stream is down, polls the mailbox and the DLQ,
// and renders each panel. No dependencies; every value from the server
// goes through textContent.
(function () {
  'use strict';
  var POLL_MS = 1500, LAG_POINTS = 120;
  var lagHistory = {}; // group -> [{t, lag}]
  var selected = null; // correlationId of the traced order
  // #order=ID in the address opens that order's timeline once it is listed.
  var wanted = (/[#&]order=([^&]+)/.exec(location.hash) || [])[1];
  if (wanted) wanted = decodeURIComponent(wanted);
  var COLORS = ['#2c6fbb', '#c0392b', '#1e8449', '#d68910', '#8e44ad', '#16a085', '#7f8c8d', '#e67e22'];

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'onclick') e.addEventListener('click', attrs[k]);
      else if (k === 'style') e.style.cssText = attrs[k]; // CSSOM: allowed by the page's CSP
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }
  function table(t, head, rows) {
    t.replaceChildren();
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', { text: h, class: /^(p\d\d|lag.*|.*depth|count|members|handled|attempts)$/i.test(h) ? 'num' : '' })); });
    t.appendChild(el('thead', null, tr));
    var tb = el('tbody');
    rows.forEach(function (r) { tb.appendChild(r); });
    t.appendChild(tb);
  }
  function row(cells, attrs) {
    var tr = el('tr', attrs);
    cells.forEach(function (c) {
      var num = typeof c === 'number';
      tr.appendChild(c instanceof Node ? el('td', null, c) : el('td', { text: c == null ? '' : String(c), class: num ? 'num' : '' }));
    });
    return tr;
  }
  function ms(s) { return s >= 1 ? s.toFixed(2) + ' s' : (s * 1000).toFixed(1) + ' ms'; }
  function ago(t) { var d = (Date.now() - new Date(t).getTime()) / 1000; return d < 60 ? Math.max(0, Math.round(d)) + ' s ago' : Math.round(d / 60) + ' min ago'; }

  function token() { try { return sessionStorage.getItem('causewayToken') || ''; } catch (e) { return ''; } }
  function api(method, path, body) {
    var h = { 'Accept': 'application/json' };
    var tok = token();
    if (tok) h['Authorization'] = 'Bearer ' + tok;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    return fetch(path, { method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
      .then(function (res) {
        return res.text().then(function (txt) {
          var v = null;
          try { v = txt ? JSON.parse(txt) : null; } catch (e) { v = { detail: txt }; }
          if (!res.ok) { var err = new Error((v && (v.detail || v.title)) || res.statusText); err.status = res.status; throw err; }
          return v;
        });
      });
  }
  function problem(target, err) {
    var msg = err.status === 401 || err.status === 403 ? 'needs a token with the right scope (' + err.status + ')' :
      err.status === 404 ? 'not served by this process' : err.message;
    target.replaceChildren(el('span', { class: 'err', text: msg }));
  }

  // --- topology, groups, lag chart, latency, sagas (one state fetch) ---
  function renderState(st) {
    var rate = {}, byTopic = {};
    st.topics.forEach(function (t) { rate[t.name] = t; });
    var producers = {}, consumers = {};
    st.edges.forEach(function (e) {
      if (e.kind === 'produces') (producers[e.to] = producers[e.to] || []).push(e.from);
      else (consumers[e.from] = consumers[e.from] || []).push(e.to);
      byTopic[e.kind === 'produces' ? e.to : e.from] = true;
    });
    var svcCol = el('div', { class: 'col' }, el('h3', { text: 'services (outbox backlog)' }));
    st.services.forEach(function (s) {
      svcCol.appendChild(el('div', { class: 'node' }, s.name, el('small', { text: 'backlog ' + s.outboxBacklog })));
    });
    var topicCol = el('div', { class: 'col' }, el('h3', { text: 'topics (events/s)' }));
    st.topics.forEach(function (t) {
      topicCol.appendChild(el('div', { class: 'node' }, t.name,
        el('small', { text: t.ratePerSec.toFixed(1) + '/s · ' + t.produced + ' produced' +
          (producers[t.name] ? ' · from ' + producers[t.name].join(', ') : '') })));
    });
    var grpCol = el('div', { class: 'col' }, el('h3', { text: 'consumer groups' }));
    st.groups.forEach(function (g) {
      var reads = [];
      for (var tp in consumers) if (consumers[tp].indexOf(g.group) >= 0) reads.push(tp);
      grpCol.appendChild(el('div', { class: 'node' }, g.group, el('small', { text: 'reads ' + (reads.join(', ') || '—') + ' · lag ' + g.lag })));
    });
    $('topologyBody').replaceChildren(el('div', { class: 'topo' }, svcCol, el('div', { text: '→' }), topicCol, el('div', { text: '→' }), grpCol));
    $('topologyBody').className = '';

    table($('groupsTable'), ['group', 'lag', 'lag s', 'members', 'handled', 'DLQ depth'], st.groups.map(function (g) {
      return row([g.group, g.lag, g.lagSeconds.toFixed(1), g.members, g.handled, g.dlqDepth]);
    }));
    var now = new Date(st.at).getTime();
    st.groups.forEach(function (g) {
      var h = lagHistory[g.group] = lagHistory[g.group] || [];
      h.push({ t: now, lag: g.lag });
      if (h.length > LAG_POINTS) h.shift();
    });
    drawLag();

    table($('latencyTable'), ['measure', 'of', 'over', 'count', 'p50', 'p95', 'p99'], st.latency.map(function (l) {
      return row([l.name, l.label, l.windowSeconds ? 'last ' + l.windowSeconds + ' s' : 'since start', l.count, ms(l.p50), ms(l.p95), ms(l.p99)]);
    }));
    $('dlqDepth').textContent = st.dlqDepth ? String(st.dlqDepth) : '';
    renderSagas(st.sagas);
  }

  function drawLag() {
    var svg = $('lagChart'), W = 600, H = 220, P = 30;
    var groups = Object.keys(lagHistory).sort(), tmin = Infinity, tmax = -Infinity, vmax = 1;
    groups.forEach(function (g) { lagHistory[g].forEach(function (p) { tmin = Math.min(tmin, p.t); tmax = Math.max(tmax, p.t); vmax = Math.max(vmax, p.lag); }); });
    var ns = 'http://www.w3.org/2000/svg';
    svg.replaceChildren();
    function s(tag, attrs, text) { var e = document.createElementNS(ns, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (text) e.textContent = text; svg.appendChild(e); return e; }
    s('line', { x1: P, y1: H - P, x2: W - 5, y2: H - P, stroke: '#999' });
    s('line', { x1: P, y1: 5, x2: P, y2: H - P, stroke: '#999' });
    s('text', { x: 2, y: 14, 'font-size': 10 }, String(vmax));
    s('text', { x: 2, y: H - P, 'font-size': 10 }, '0');
    s('text', { x: W - 90, y: H - 8, 'font-size': 10 }, 'last ' + Math.round((tmax - tmin) / 1000 || 0) + ' s');
    var legend = $('lagLegend');
    legend.replaceChildren();
    legend.className = 'legend';
    groups.forEach(function (g, i) {
      var c = COLORS[i % COLORS.length], pts = lagHistory[g].map(function (p) {
        var x = P + (tmax > tmin ? (p.t - tmin) / (tmax - tmin) : 1) * (W - P - 5);
        var y = (H - P) - (p.lag / vmax) * (H - P - 5);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      s('polyline', { points: pts.join(' '), fill: 'none', stroke: c, 'stroke-width': 2 });
      legend.appendChild(el('span', { style: 'color:' + c, text: '■ ' + g }));
    });
  }

  function renderSagas(sagas) {
    var rows = sagas.map(function (s) { return row([s.saga, s.state, s.count]); });
    table($('sagasTable'), ['saga', 'state', 'count'], rows);
    if (!sagas.length) {
      // Choreography: no orchestrator; show the orders by status instead.
      api('GET', '/v1/analytics/summary').then(function (sum) {
        var by = (sum && (sum.ordersByStatus || sum.byStatus)) || {};
        var r = Object.keys(by).sort().map(function (k) { return row(['order (choreography)', k, by[k]]); });
        table($('sagasTable'), ['saga', 'state', 'count'], r);
      }).catch(function () {});
    }
  }

  // --- recent orders and the causation timeline ---
  function renderOrders(v) {
    table($('ordersTable'), ['order', 'user', 'status', 'total', 'placed', 'updated'], v.orders.map(function (o) {
      var st = el('span', { class: 'status status-' + o.status, text: o.status + (o.cancellationReason ? ' (' + o.cancellationReason + ')' : '') });
      var tr = row([o.orderId, o.userId, st, o.total + ' ' + o.currency, ago(o.placedAt), ago(o.updatedAt)],
        { class: 'click' + (o.correlationId === selected ? ' sel' : ''), 'data-order-id': o.orderId, 'data-status': o.status });
      tr.addEventListener('click', function () {
        selected = o.correlationId;
        try { history.replaceState(null, '', '#order=' + encodeURIComponent(o.orderId)); } catch (e) {}
        showTrace(o);
      });
      return tr;
    }));
    v.orders.forEach(function (o) {
      if (wanted && o.orderId === wanted) { wanted = null; selected = o.correlationId; showTrace(o); }
    });
  }
  function showTrace(o) {
    var body = $('traceBody');
    body.className = '';
    body.replaceChildren(el('span', { class: 'muted', text: 'tracing ' + o.orderId + '…' }));
    api('GET', '/v1/trace/' + encodeURIComponent(o.correlationId)).then(function (f) {
      var ul = el('ul', { class: 'tl' });
      function walk(n, depth) {
        var li = el('li', { style: '--d:' + depth, 'data-event-type': n.eventType },
          el('strong', { text: n.eventType }), ' ', el('small', { text: 'by ' + n.source + ' at ' + n.timestamp +
            (n.kafka ? ' · ' + n.kafka.topic + '/' + n.kafka.partition + '@' + n.kafka.offset : '') +
            (n.latencyMs != null ? ' · +' + n.latencyMs + ' ms after its cause' : '') }));
        ul.appendChild(li);
        (n.children || []).forEach(function (c) { walk(c, depth + 1); });
      }
      (f.roots || []).forEach(function (r) { walk(r, 0); });
      body.replaceChildren(el('div', { text: 'order ' + o.orderId + ' · correlation ' + f.correlationId + ' · ' + f.events + ' events in ' + f.durationMs + ' ms' }), ul);
    }).catch(function (e) { problem(body, e); });
  }

  // --- DLQ with replay and discard ---
  function renderDLQ(v) {
    var t = el('table');
    table(t, ['group', 'topic', 'key', 'error', 'attempts', 'last failure', ''], v.letters.map(function (l) {
      var replay = el('button', { class: 'small', text: 'replay', onclick: function () { act(l.id, 'replay', false); } });
      var discard = el('button', { class: 'small', text: 'discard', onclick: function () { act(l.id, 'discard', true); } });
      return row([l.group, l.topic, l.key, (l.error || '').slice(0, 80), l.attempts, ago(l.lastFailure), el('span', null, replay, ' ', discard)]);
    }));
    $('dlqBody').replaceChildren(v.letters.length ? t : el('span', { class: 'muted', text: 'no dead letters' }));
  }
  function act(id, what, needReason) {
    var reason = window.prompt(what + ' ' + id + ': reason' + (needReason ? ' (required)' : ''), '');
    if (reason === null || (needReason && !reason)) return;
    api('POST', '/v1/dlq/' + encodeURIComponent(id) + '/' + what, { reason: reason })
      .then(function () { pollDLQ(); })
      .catch(function (e) { window.alert(what + ' failed: ' + e.message); });
  }
  function pollDLQ() { return api('GET', '/v1/dlq?limit=50').then(renderDLQ).catch(function (e) { problem($('dlqBody'), e); }); }

  function renderMail(v) {
    table($('mailTable'), ['when', 'to', 'kind', 'subject', 'order', 'sent'], v.messages.map(function (m) {
      return row([ago(m.createdAt), m.to, m.kind, m.subject, m.orderId, m.sendStatus || '']);
    }));
  }

  // The stream: state and orders pushed every 1.5 s. While it is up, poll
  // skips those two; when it fails or ends, polling takes over and the
  // stream is tried again after STREAM_RETRY_MS.
  var STREAM_RETRY_MS = 5000, streaming = false, streamAbort = null;
  function live() {
    $('status').textContent = 'live' + (streaming ? ' (stream)' : '') + ' · updated ' + new Date().toLocaleTimeString();
    $('status').className = 'muted';
  }
  function onEvent(block) {
    var ev = 'message', data = '';
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) ev = line.slice(7);
      else if (line.indexOf('data: ') === 0) data += line.slice(6);
    });
    var v = JSON.parse(data);
    if (ev === 'state') renderState(v);
    else if (ev === 'orders') { renderOrders(v); live(); }
    else if (ev === 'problem') throw new Error(v.detail);
  }
  function stream() {
    if (!window.ReadableStream || !window.TextDecoder || !window.AbortController) return; // polling only
    if (streamAbort) streamAbort.abort();
    var ctl = new AbortController();
    streamAbort = ctl;
    var h = { 'Accept': 'text/event-stream' };
    var tok = token();
    if (tok) h['Authorization'] = 'Bearer ' + tok;
    fetch('/v1/dashboard/stream', { headers: h, cache: 'no-store', signal: ctl.signal }).then(function (res) {
      if (!res.ok || !res.body) { var err = new Error(res.statusText); err.status = res.status; throw err; }
      streaming = true;
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error('stream ended');
          buf += dec.decode(r.value, { stream: true });
          for (var i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) onEvent(buf.slice(0, i));
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      streaming = false;
      if (streamAbort !== ctl) return; // replaced by a newer stream
      streamAbort = null;
      setTimeout(function () { if (!streamAbort) stream(); }, STREAM_RETRY_MS);
    });
  }

  var busy = false, tick = 0;
  // The DLQ list reads the dead-letter topics: every third poll (~4.5 s).
  var DLQ_EVERY = 3;
  function poll() {
    if (busy) return;
    busy = true;
    Promise.all([
      streaming ? null : api('GET', '/v1/dashboard/state').then(renderState),
      streaming ? null : api('GET', '/v1/dashboard/orders?limit=20').then(renderOrders),
      api('GET', '/v1/mailbox?limit=10').then(renderMail).catch(function (e) { problem($('mailTable'), e); }),
      (tick++ % DLQ_EVERY === 0) ? pollDLQ() : null
    ]).then(live).catch(function (e) {
      $('status').textContent = e.status === 401 || e.status === 403 ? 'enter a token with orders:read (and admin for the DLQ)' : 'error: ' + e.message;
      $('status').className = 'err';
    }).then(function () { busy = false; });
  }

  $('tokenForm').addEventListener('submit', function (ev) {
    ev.preventDefault();
    try { sessionStorage.setItem('causewayToken', $('token').value.trim()); } catch (e) {}
    $('token').value = '';
    tick = 0;
    poll();
    stream();
  });
  $('tokenClear').addEventListener('click', function () { try { sessionStorage.removeItem('causewayToken'); } catch (e) {} poll(); stream(); });
  poll();
  stream();
  setInterval(poll, POLL_MS);
})();
