// rspkit NOC dashboard: plain JavaScript, hand-drawn SVG, data from /api/dashboard (the store's
// telemetry aggregates, the same data as /metrics). Each panel writes what it drew into data-*
// attributes (counts), so a headless browser test can compare them with the store.
'use strict';
(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2f6fdb', '#e0892b', '#2a9d5b', '#b23a8c', '#6c59c9', '#c0392b', '#16a0a6',
    '#7f8c2d'];
  let data = null;

  function svg(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, text, parent, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) {
    const t = svg('text', { x: x, y: y, 'text-anchor': anchor || 'start' }, parent);
    t.textContent = s;
    return t;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function hhmm(t) { // "MM-DD hh:mm" UTC
    return new Date(t * 1000).toISOString().slice(5, 16).replace('T', ' ');
  }

  // Install success rate per cohort over time: one line (and dots) per cohort.
  function drawSuccess() {
    const host = document.getElementById('success');
    clear(host);
    const dim = document.getElementById('dim').value;
    const cohorts = (data.success && data.success[dim]) || [];
    const W = 900, H = 260, L = 46, R = 170, T = 12, B = 28;
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, host);
    const x0 = data.from, x1 = Math.max(data.to, data.from + data.period);
    const X = (t) => L + (W - L - R) * (t - x0) / (x1 - x0);
    const Y = (v) => T + (H - T - B) * (1 - v);
    for (let v = 0; v <= 1.0001; v += 0.25) {
      svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'grid' }, s);
      text(s, L - 6, Y(v) + 4, Math.round(v * 100) + '%', 'end');
    }
    svg('line', { x1: L, x2: W - R, y1: Y(0), y2: Y(0), class: 'axis' }, s);
    text(s, L, H - 8, hhmm(x0) + ' UTC');
    text(s, W - R, H - 8, hhmm(x1) + ' UTC', 'end');
    let npoints = 0;
    cohorts.forEach((c, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = [];
      c.points.forEach((p) => {
        // p = [period start, attempts, installed, failed]: the rate of the sessions that ended
        // in the period (installed / (installed + failed)).
        const ended = p[2] + p[3];
        if (ended <= 0) return;
        const rate = p[2] / ended;
        const cx = X(p[0] + data.period / 2), cy = Y(rate);
        pts.push(cx.toFixed(1) + ',' + cy.toFixed(1));
        const dot = svg('circle', { cx: cx, cy: cy, r: 4, fill: color, 'data-t': p[0],
          'data-attempts': p[1], 'data-installed': p[2], 'data-failed': p[3] }, s);
        svg('title', {}, dot).textContent = (c.cohort || '(none)') + ': ' + p[2] + ' of ' +
          ended + ' installed (' + p[1] + ' attempts started)';
        npoints++;
      });
      if (pts.length > 1)
        svg('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }, s);
      svg('rect', { x: W - R + 12, y: T + 16 * i, width: 10, height: 10, fill: color }, s);
      text(s, W - R + 28, T + 16 * i + 9, (c.cohort || '(none)').slice(0, 22));
    });
    if (!npoints) text(s, (W - R + L) / 2, H / 2, 'no download ended in the window', 'middle');
    host.dataset.cohorts = cohorts.length;
    host.dataset.points = npoints;
    host.dataset.dim = dim;
  }

  // Horizontal bars with labels and values.
  function bars(host, items, color) {
    const W = 440, row = 26, L = 170, R = 50;
    const H = Math.max(row * items.length + 8, 40);
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, host);
    const max = Math.max(1, ...items.map((b) => b.value));
    items.forEach((b, i) => {
      const y = 4 + i * row;
      text(s, L - 6, y + 15, b.label, 'end');
      const w = (W - L - R) * b.value / max;
      const r = svg('rect', { x: L, y: y + 3, width: Math.max(w, 1), height: row - 8,
        fill: b.color || color }, s);
      for (const k in (b.attrs || {})) r.setAttribute('data-' + k, String(b.attrs[k]));
      text(s, L + Math.max(w, 1) + 6, y + 15, String(b.shown !== undefined ? b.shown : b.value));
    });
    return s;
  }

  function drawFunnel() {
    const host = document.getElementById('funnel');
    clear(host);
    const stages = [];
    // activation orders (stages reached), then the download sessions of the window
    (data.ops_funnel || []).forEach((f) => stages.push({ label: 'order: ' + f.stage,
      value: f.count, color: '#6c59c9', attrs: { stage: 'order:' + f.stage, count: f.count } }));
    (data.funnel || []).forEach((f) => stages.push({ label: 'session: ' + f.stage,
      value: f.count, attrs: { stage: 'session:' + f.stage, count: f.count } }));
    bars(host, stages, '#2f6fdb');
    host.dataset.stages = stages.length;
  }

  function drawLatency() {
    const host = document.getElementById('latency');
    clear(host);
    const fns = data.latency || [];
    const W = 440, row = 22, L = 200, R = 60;
    const H = Math.max(fns.length * (3 * row + 8) + 8, 40);
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, host);
    const max = Math.max(1, ...fns.map((f) => f.p99));
    const colors = { p50: '#2a9d5b', p90: '#e0892b', p99: '#c0392b' };
    fns.forEach((f, i) => {
      const y0 = 4 + i * (3 * row + 8);
      text(s, 4, y0 + 14, f.function.slice(0, 24));
      ['p50', 'p90', 'p99'].forEach((q, k) => {
        const y = y0 + k * row;
        text(s, L - 6, y + 14, q, 'end');
        const w = Math.max((W - L - R) * f[q] / max, 1);
        svg('rect', { x: L, y: y + 3, width: w, height: row - 6, fill: colors[q],
          'data-function': f.function, 'data-q': q, 'data-ms': f[q], 'data-count': f.count }, s);
        text(s, L + w + 6, y + 14, f[q].toFixed(1));
      });
    });
    if (!fns.length) text(s, W / 2, 24, 'no requests yet', 'middle');
    host.dataset.functions = fns.length;
  }

  function drawQuarantines() {
    const host = document.getElementById('quarantines');
    clear(host);
    if (!Array.isArray(data.quarantines)) {
      html('p', 'not available on this deployment (no quarantine data)', host, 'muted');
      host.dataset.count = 'n/a';
      return;
    }
    if (!data.quarantines.length) {
      html('p', 'no cohort is quarantined', host, 'muted');
    } else {
      const t = html('table', null, host);
      const h = html('tr', null, t);
      ['cohort', 'since', 'reason'].forEach((c) => html('th', c, h));
      data.quarantines.forEach((q) => {
        const r = html('tr', null, t, 'bad');
        html('td', q.cohort, r);
        html('td', q.since ? new Date(q.since * 1000).toISOString() : '', r);
        html('td', q.reason || '', r);
      });
    }
    host.dataset.count = data.quarantines.length;
  }

  function drawPushes() {
    const host = document.getElementById('pushes');
    clear(host);
    const v = data.pushes_without_first_contact;
    if (typeof v !== 'number') {
      html('span', 'n/a', host, 'muted');
      host.dataset.value = 'n/a';
      return;
    }
    html('span', v, host);
    host.dataset.value = v;
  }

  function drawRequests() {
    const t = document.getElementById('requests');
    clear(t);
    const h = html('tr', null, t);
    ['function', 'outcome', 'count'].forEach((c) => html('th', c, h));
    (data.requests || []).forEach((q) => {
      const r = html('tr', null, t, q.outcome === 'ok' ? '' : 'bad');
      html('td', q.function, r);
      html('td', q.outcome, r);
      html('td', q.count, r, 'num');
    });
    t.dataset.rows = (data.requests || []).length;
  }

  function render() {
    document.getElementById('generated').textContent = 'data at ' +
      new Date(data.generated_at * 1000).toISOString() + ' (window from ' + hhmm(data.from) +
      ' UTC, period ' + data.period + ' s)';
    drawSuccess();
    drawFunnel();
    drawLatency();
    drawQuarantines();
    drawPushes();
    drawRequests();
    document.body.dataset.rendered = 'ok';
    document.getElementById('status').textContent = 'sessions: ' +
      Object.keys(data.sessions).map((k) => k + ' ' + data.sessions[k]).join(', ');
  }

  async function refresh() {
    try {
      // location.origin: a page opened as http://user:pass@host/ has a base URL with
      // credentials, which fetch() refuses; the browser's HTTP auth cache still applies.
      const r = await fetch(location.origin + '/api/dashboard',
        { credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      data = await r.json();
      render();
    } catch (e) {
      document.body.dataset.rendered = 'error';
      document.getElementById('status').textContent = 'cannot load the data: ' + e.message;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('dim').addEventListener('change', () => { if (data) drawSuccess(); });
    refresh();
    setInterval(refresh, 30000);
  });
})();
