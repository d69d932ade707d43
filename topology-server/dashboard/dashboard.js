// The live dashboard: one JSON snapshot a second from GET /events (Server-Sent Events),
// drawn with the DOM and inline SVG. Names come from peers and are untrusted: every value
// goes on the page through textContent or an SVG attribute, never as markup.
'use strict';

const HISTORY_POINTS = 300; // one a second: five minutes
const SPARK_POINTS = 120; // each swarm's sparkline: two minutes
const SVG = 'http://www.w3.org/2000/svg';

const totals = []; // { at, sourceRate, peerRate }, oldest first
const perSwarm = new Map(); // swarm id -> [{ sourceRate, peerRate }]
const rows = new Map(); // swarm id -> the row's elements

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

const rate = (n) => `${bytes(n)}/s`;

function push(list, item) {
  list.push(item);
  if (list.length > HISTORY_POINTS) list.shift();
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
}

function render(snapshot) {
  push(totals, { at: snapshot.at, sourceRate: snapshot.sourceRate, peerRate: snapshot.peerRate });
  $('total-swarms').textContent = String(snapshot.swarms);
  $('total-downloading').textContent = String(snapshot.peers.downloading);
  $('total-done').textContent = String(snapshot.peers.done);
  $('total-source-rate').textContent = rate(snapshot.sourceRate);
  $('total-peer-rate').textContent = rate(snapshot.peerRate);
  $('updated').textContent = `updated ${new Date(snapshot.at).toLocaleTimeString()}`;
  $('shown-note').textContent = snapshot.swarms > snapshot.list.length ? `the ${snapshot.list.length} largest of ${snapshot.swarms}, by peers` : '';
  $('empty').hidden = snapshot.list.length > 0;
  drawChart($('chart'), totals);

  const tbody = $('swarm-rows');
  const seen = new Set();
  snapshot.list.forEach((swarm, i) => {
    seen.add(swarm.id);
    const history = perSwarm.get(swarm.id) ?? [];
    push(history, { sourceRate: swarm.sourceRate, peerRate: swarm.peerRate });
    perSwarm.set(swarm.id, history);
    const row = rows.get(swarm.id) ?? makeRow(swarm.id);
    fillRow(row, swarm, history);
    if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] ?? null);
  });
  for (const [id, row] of rows) {
    if (seen.has(id)) continue;
    row.tr.remove();
    rows.delete(id);
    perSwarm.delete(id);
  }
}

function makeRow(id) {
  const tr = el('tr');
  tr.dataset.swarm = id;
  const file = el('td');
  const name = el('div', 'name');
  const sub = el('div', 'sub');
  const idText = el('span', 'id', id);
  const size = el('span', 'size');
  sub.append(idText, size);
  file.append(name, sub);

  const peersCell = el('td', 'counts');
  const downloading = el('span', 'downloading');
  const done = el('span', 'done');
  const peerBar = el('div', 'bar');
  const doneFill = el('div', 'fill done');
  peerBar.append(doneFill);
  peersCell.append(downloading, document.createTextNode(' · '), done, peerBar);

  const servedCell = el('td', 'served');
  const served = el('div', 'served-text');
  const servedBar = el('div', 'bar');
  const sourceFill = el('div', 'fill source');
  servedBar.append(sourceFill);
  servedCell.append(served, servedBar);

  const sourceRate = el('td', 'num source-rate');
  const peerRate = el('td', 'num peer-rate');
  const sparkCell = el('td');
  const spark = svgEl('svg', { class: 'spark', viewBox: '0 0 160 36', preserveAspectRatio: 'none' });
  sparkCell.append(spark);

  tr.append(file, peersCell, servedCell, sourceRate, peerRate, sparkCell);
  const row = { tr, name, size, downloading, done, doneFill, served, sourceFill, sourceRate, peerRate, spark };
  rows.set(id, row);
  return row;
}

function labelled(target, count, word) {
  target.replaceChildren(el('b', '', String(count)), document.createTextNode(` ${word}`));
}

function fillRow(row, swarm, history) {
  row.name.textContent = swarm.name ?? 'unnamed swarm';
  row.size.textContent = swarm.size === null ? '' : ` · ${bytes(swarm.size)}`;
  labelled(row.downloading, swarm.downloading, 'downloading');
  labelled(row.done, swarm.done, 'done');
  row.doneFill.style.width = `${swarm.peers > 0 ? (100 * swarm.done) / swarm.peers : 0}%`;
  if (swarm.downloading + swarm.done === 0) {
    row.served.textContent = 'no progress reports yet';
    row.sourceFill.style.width = '0%';
  } else if (swarm.sourceServed === null) {
    row.served.textContent = `${bytes(swarm.fromSource)} from the source`;
    row.sourceFill.style.width = '0%';
  } else {
    row.served.textContent = `source served ${swarm.sourceServed.toFixed(2)}× the file`;
    // The bar is full at 2×: past one copy, the promise is being broken.
    row.sourceFill.style.width = `${Math.min(100, 50 * swarm.sourceServed)}%`;
    row.sourceFill.classList.toggle('over', swarm.sourceServed > 1.6);
  }
  row.served.title = `${bytes(swarm.fromSource)} from the source, ${bytes(swarm.fromPeers)} between peers, ${bytes(swarm.uploaded)} uploaded`;
  row.sourceRate.textContent = rate(swarm.sourceRate);
  row.peerRate.textContent = rate(swarm.peerRate);
  drawSpark(row.spark, history);
}

function path(points, x, y) {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p).toFixed(1)}`).join('');
}

// A top for the axis that makes round labels (quarters of it) in the unit bytes() picks.
function niceMax(value) {
  if (value <= 0) return 1024;
  const unit = 1024 ** Math.min(4, Math.floor(Math.log(value) / Math.log(1024)));
  for (const step of [1, 2, 4, 5, 10, 20, 40, 50, 100, 200, 400, 500, 1000]) if (step * unit >= value) return step * unit;
  return 1024 * unit;
}

function drawChart(svg, points) {
  const width = 960, height = 220, left = 74, right = 12, top = 10, bottom = 26;
  const max = niceMax(Math.max(0, ...points.map((p) => Math.max(p.sourceRate, p.peerRate))));
  const x = (i) => left + ((width - left - right) * (HISTORY_POINTS - points.length + i)) / (HISTORY_POINTS - 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const parts = [];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(svgEl('line', { class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    const label = svgEl('text', { class: 'axis', x: left - 8, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = rate(v);
    parts.push(label);
  }
  for (const [i, text] of [[0, '5 min ago'], [HISTORY_POINTS / 2, '2.5 min'], [HISTORY_POINTS - 1, 'now']]) {
    const label = svgEl('text', { class: 'axis', x: left + ((width - left - right) * i) / (HISTORY_POINTS - 1), y: height - 6, 'text-anchor': i === 0 ? 'start' : i === HISTORY_POINTS - 1 ? 'end' : 'middle' });
    label.textContent = text;
    parts.push(label);
  }
  if (points.length > 1) {
    for (const key of ['peers', 'source']) {
      const value = (p) => (key === 'peers' ? p.peerRate : p.sourceRate);
      const line = path(points, x, (p) => y(value(p)));
      const base = y(0).toFixed(1);
      parts.push(svgEl('path', { class: `area ${key}`, d: `${line}L${x(points.length - 1).toFixed(1)},${base}L${x(0).toFixed(1)},${base}Z` }));
      parts.push(svgEl('path', { class: `line ${key}`, d: line }));
    }
  }
  svg.replaceChildren(...parts);
}

// The last SPARK_POINTS seconds, stretched to the full width until there are that many.
function drawSpark(svg, history) {
  const width = 160, height = 36;
  const points = history.slice(-SPARK_POINTS);
  const n = Math.max(points.length, 30);
  const max = Math.max(1, ...points.map((p) => Math.max(p.sourceRate, p.peerRate)));
  const x = (i) => (width * (n - points.length + i)) / (n - 1);
  const y = (v) => 2 + (height - 4) * (1 - v / max);
  const parts = [];
  if (points.length > 1) {
    parts.push(svgEl('path', { class: 'line peers', d: path(points, x, (p) => y(p.peerRate)) }));
    parts.push(svgEl('path', { class: 'line source', d: path(points, x, (p) => y(p.sourceRate)) }));
  }
  svg.replaceChildren(...parts);
}

function connect() {
  const events = new EventSource('events');
  events.onopen = () => setStatus('live', 'live');
  events.onmessage = (message) => {
    try {
      render(JSON.parse(message.data));
      setStatus('live', 'live');
    } catch (err) {
      setStatus('lost', `bad update: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // EventSource retries by itself while the server answers; a refusal (503) closes it for good.
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) {
      setStatus('lost', 'disconnected; retrying in 10 s');
      setTimeout(connect, 10_000);
    } else {
      setStatus('lost', 'reconnecting…');
    }
  };
}

connect();
