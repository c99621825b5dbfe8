/*
 * heapmark report.html: everything the page does, from the JSON that
 * csrc/report_html.c embeds in the script element "heapmark-data".
 *
 * Owns: the flamegraph (canvas; flame or icicle; peak, end or allocated;
 * zoom, breadcrumb, search, tooltips), the sortable table of top lines and
 * functions, the timeline chart with its phases and GC runs, and the run's
 * metadata.
 * Must never: put program text into the page as markup (only textContent
 * and canvas text; no innerHTML), fetch anything, or show an estimate
 * without saying so (sampled profiles mark per-frame figures with ≈).
 */
(function () {
  'use strict';

  const data = JSON.parse(document.getElementById('heapmark-data').textContent);
  const meta = data.meta;
  const SNAPSHOTS = ['peak', 'end', 'allocated'];
  const APPROX_SIGN = meta.exact ? '' : '\u2248 ';
  /* The sign for an estimate, except on zero, which is never estimated. */
  function approx(n) {
    return n ? APPROX_SIGN : '';
  }
  const OF_SNAPSHOT = {
    peak: 'of the peak',
    end: 'of what was left at the end',
    allocated: 'of everything allocated',
  };

  // ---- formatting --------------------------------------------------------

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  /* As the C reports print sizes (strbuf.c), so that pages and files agree. */
  function bytes(n) {
    let v = Math.abs(n);
    let u = 0;
    while (v >= 1024 && u < 4) {
      v /= 1024;
      u++;
    }
    const sign = n < 0 ? '-' : '';
    return u === 0 ? sign + v + ' B' : sign + v.toFixed(1) + ' ' + UNITS[u];
  }

  function grouped(n) {
    return Math.round(n).toLocaleString('en-US');
  }

  /* Short runs in milliseconds: "0.01 s" would hide a whole phase. */
  function seconds(t) {
    if (t === 0) return '0 s';
    if (t < 1) return (t * 1000).toFixed(t < 0.01 ? 2 : 1) + ' ms';
    return t.toFixed(t < 10 ? 2 : 1) + ' s';
  }

  function share(part, whole) {
    return whole > 0 ? (100 * part / whole).toFixed(1) + '%' : '\u2013';
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function $(id) {
    return document.getElementById(id);
  }

  // ---- frames -------------------------------------------------------------

  const S = data.strings;
  const frames = data.frames.map(function (f) {
    return { fn: S[f[0]], file: S[f[1]], short: S[f[2]], line: f[3], src: S[f[4]], kind: f[5] };
  });

  /* "function (file:line)", heapmark's own entries by their bracketed name. */
  function frameLabel(f) {
    return f.kind === 2 ? f.fn : f.fn + ' (' + f.short + ':' + f.line + ')';
  }

  function functionLabel(f) {
    return f.kind === 2 ? f.fn : f.fn + ' (' + f.short + ')';
  }

  const KIND_NAMES = ['your code', 'library', 'heapmark'];

  // ---- the call tree --------------------------------------------------------

  const T = data.tree;
  const N = T.parent.length;
  const parent = new Int32Array(N);
  const depth = new Int32Array(N);
  parent[0] = -1;
  for (let i = 1; i < N; i++) {
    parent[i] = i - T.parent[i];
    depth[i] = depth[parent[i]] + 1;
  }
  // Children in one array (CSR): kids[start[i] .. start[i + 1]).
  const start = new Int32Array(N + 1);
  for (let i = 1; i < N; i++) start[parent[i] + 1]++;
  for (let i = 0; i < N; i++) start[i + 1] += start[i];
  const kidsInOrder = new Int32Array(Math.max(N - 1, 0));
  const fill = start.slice(0, N);
  for (let i = 1; i < N; i++) kidsInOrder[fill[parent[i]]++] = i;

  const totals = {};
  const counts = {};
  SNAPSHOTS.forEach(function (s) {
    totals[s] = Float64Array.from(T.total[s]);
    counts[s] = Float64Array.from(T.count[s]);
  });
  const isOther = function (i) { return i > 0 && T.frame[i] < 0; };
  const hasOthers = data.prune.other_nodes > 0;

  function nodeLabel(i) {
    if (i === 0) return 'all';
    const f = T.frame[i];
    if (f < 0) return '[other: ' + plural(-f, 'smaller callee') + ']';
    return frameLabel(frames[f]);
  }

  /* Per snapshot: children by decreasing bytes ("other" last), each node's
   * offset from the left edge in bytes, and its own (self) bytes. */
  const layouts = {};
  function layout(snap) {
    if (layouts[snap]) return layouts[snap];
    const tot = totals[snap];
    const kids = kidsInOrder.slice();
    const x = new Float64Array(N);
    const self = Float64Array.from(tot);
    for (let i = 0; i < N; i++) {
      const a = start[i];
      const b = start[i + 1];
      if (b - a > 1) {
        const sorted = Array.from(kids.subarray(a, b)).sort(function (p, q) {
          const op = isOther(p);
          const oq = isOther(q);
          if (op !== oq) return op ? 1 : -1;
          return tot[q] - tot[p] || p - q;
        });
        kids.set(sorted, a);
      }
      let at = x[i];
      for (let k = a; k < b; k++) {
        const c = kids[k];
        x[c] = at;
        at += tot[c];
        self[i] -= tot[c];
      }
    }
    layouts[snap] = { kids: kids, x: x, self: self };
    return layouts[snap];
  }

  // ---- page state --------------------------------------------------------------

  const state = {
    snap: 'peak',
    zoom: 0,
    icicle: false,
    match: new Uint8Array(N),
    term: '',
    kind: 'lines',
    sortKey: 'self',
    sortDir: -1,
    showAll: false,
  };

  // ---- header: run metadata --------------------------------------------------

  function describeMode() {
    if (meta.exact) return 'exact: every allocation recorded';
    return 'sampled: one sample per ' + bytes(meta.sample_rate) + ' allocated on average';
  }

  function fillHeader() {
    document.title = 'heapmark: ' + meta.command;
    $('headline').textContent = '\u2014 peak ' + bytes(meta.peak_bytes) + ' tracked at ' +
      seconds(meta.peak_at_s);
    $('version').textContent = meta.heapmark_version;
    if (meta.note) {
      $('note').textContent = meta.note;
      $('note').hidden = false;
    }
    const dl = $('meta');
    function row(name, value, mono) {
      dl.appendChild(el('dt', '', name));
      dl.appendChild(el('dd', mono ? 'mono' : '', value));
    }
    row('command', meta.command, true);
    row('Python', (meta.python || '').split('\n')[0], false);
    row('mode', describeMode(), false);
    row('run time', seconds(meta.duration_s), false);
    row('peak tracked', bytes(meta.peak_bytes) + ' (' + grouped(meta.peak_bytes) +
      ' bytes, exact) at ' + seconds(meta.peak_at_s), false);
    row('peak RSS', bytes(meta.peak_rss_bytes), false);
    row('still allocated at the end', bytes(meta.end_bytes) + ' (exact)', false);
    if (meta.processes.length > 1) {
      meta.processes.forEach(function (p, k) {
        row(k === 0 ? 'processes' : '', 'pid ' + p.pid + ': peak ' + bytes(p.peak_bytes) +
          ', peak RSS ' + bytes(p.peak_rss_bytes) + ', ' + seconds(p.duration_s) +
          (p.status && p.status !== 'exit' ? ', ended by ' + p.status : '') + ' \u2014 ' +
          p.command, false);
      });
    }
    $('estimates').textContent = meta.exact
      ? 'Every figure on this page is exact: heapmark recorded every allocation. ' +
        'RSS is the kernel\u2019s figure (pages touched).'
      : 'Estimates: the per-frame, per-line and per-function figures (flamegraph, table, ' +
        'search sums; marked \u2248) are unbiased estimates from samples every ' +
        bytes(meta.sample_rate) + '. Exact: peak tracked, still allocated at the end, and ' +
        'tracked memory over time. RSS is the kernel\u2019s figure (pages touched).';
  }

  // ---- flamegraph ------------------------------------------------------------------

  const ROW = 18;
  const MIN_WIDTH = 0.35;
  const flame = $('flame');
  const flameBox = $('flame-box');
  const flameTip = $('flame-tip');
  const ctx = flame.getContext('2d');
  const FONT = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
  let drawn = { node: [], x: [], y: [], w: [] };

  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  const colours = new Map();
  function colour(i) {
    if (i === 0) return 'rgb(220,220,210)';
    const f = T.frame[i];
    if (f < 0) return 'rgb(226,223,214)';
    let c = colours.get(f);
    if (c) return c;
    const fr = frames[f];
    const h = hash(fr.fn);
    const v1 = h % 55;
    const v2 = (h >>> 8) % 80;
    // As peak.svg colours them: the program warm, libraries blue, heapmark's grey.
    let rgb;
    if (fr.kind === 2) rgb = [195 + (v1 >> 2), 195 + (v1 >> 2), 195 + (v1 >> 2)];
    else if (fr.kind === 1) rgb = [80 + v1, 150 + (v2 >> 1), 200 + (v1 >> 1)];
    else rgb = [205 + v1, 90 + v2, 40 + (v1 >> 1)];
    c = 'rgb(' + rgb.join(',') + ')';
    colours.set(f, c);
    return c;
  }

  function drawnLabel(i) {
    const f = T.frame[i];
    if (i === 0) {
      const all = totals[state.snap][0];
      return 'all: ' + approx(all) + bytes(all);
    }
    if (f >= 0 && frames[f].src) return nodeLabel(i) + ' \u00b7 ' + frames[f].src;
    return nodeLabel(i);
  }

  function ancestors(i) {
    const path = [];
    for (let k = i; k >= 0; k = parent[k]) path.push(k);
    return path.reverse();
  }

  function renderFlame() {
    const snap = state.snap;
    const tot = totals[snap];
    const lay = layout(snap);
    const width = Math.max(flameBox.clientWidth, 300);
    const z = state.zoom;
    const scale = width / (tot[z] || 1);
    const x0 = lay.x[z];
    const list = { node: [], x: [], y: [], w: [] };
    let maxDepth = depth[z];
    // Callers of the zoomed frame span the whole width, dimmed.
    const path = ancestors(z);
    for (let k = 0; k < path.length - 1; k++) {
      list.node.push(path[k]);
      list.x.push(0);
      list.w.push(width);
    }
    const stack = [z];
    while (stack.length) {
      const n = stack.pop();
      const w = tot[n] * scale;
      if (n !== z && w < MIN_WIDTH) continue;
      list.node.push(n);
      list.x.push((lay.x[n] - x0) * scale);
      list.w.push(w);
      if (depth[n] > maxDepth) maxDepth = depth[n];
      // Pushed last first, so that the largest child is drawn first.
      for (let k = start[n + 1] - 1; k >= start[n]; k--) {
        if (tot[lay.kids[k]] * scale >= MIN_WIDTH) stack.push(lay.kids[k]);
      }
    }
    const rows = maxDepth + 1;
    const height = rows * ROW + 2;
    const dpr = window.devicePixelRatio || 1;
    flame.width = Math.round(width * dpr);
    flame.height = Math.round(height * dpr);
    flame.style.height = height + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const charWidth = ctx.measureText('M').width || 7.2;
    for (let k = 0; k < list.node.length; k++) {
      const n = list.node[k];
      const y = state.icicle ? depth[n] * ROW : (rows - 1 - depth[n]) * ROW;
      list.y.push(y);
      const x = list.x[k];
      const w = list.w[k];
      ctx.globalAlpha = depth[n] < depth[z] ? 0.55 : 1;
      ctx.fillStyle = state.match[n] ? 'rgb(224,64,224)' : colour(n);
      ctx.fillRect(x, y + 1, Math.max(w - 1, 0.5), ROW - 1);
      const room = Math.floor((w - 6) / charWidth);
      if (room >= 3) {
        const label = drawnLabel(n);
        ctx.fillStyle = '#000';
        ctx.fillText(label.length <= room ? label : label.slice(0, room - 2) + '..', x + 3,
          y + 1 + (ROW - 1) / 2);
      }
    }
    ctx.globalAlpha = 1;
    drawn = list;
  }

  function hit(mx, my) {
    for (let k = drawn.node.length - 1; k >= 0; k--) {
      if (mx >= drawn.x[k] && mx < drawn.x[k] + Math.max(drawn.w[k], 1) &&
          my >= drawn.y[k] && my < drawn.y[k] + ROW) return drawn.node[k];
    }
    return -1;
  }

  function tipLine(tip, className, text) {
    tip.appendChild(el('div', className, text));
  }

  function placeTip(tip, box, mx, my) {
    tip.hidden = false;
    const bw = box.clientWidth;
    const tw = tip.offsetWidth;
    let left = mx + 14;
    if (left + tw > bw) left = Math.max(0, mx - tw - 14);
    tip.style.left = left + 'px';
    tip.style.top = (my + 16) + 'px';
  }

  function showFlameTip(n, mx, my) {
    const snap = state.snap;
    const tot = totals[snap];
    const root = tot[0];
    flameTip.textContent = '';
    if (n === 0) {
      tipLine(flameTip, 'title', 'all frames');
    } else if (isOther(n)) {
      tipLine(flameTip, 'title', nodeLabel(n));
      tipLine(flameTip, 'dim', 'callees of ' + nodeLabel(parent[n]) +
        ' too small to draw, folded together');
    } else {
      const f = frames[T.frame[n]];
      tipLine(flameTip, 'title', frameLabel(f));
      if (f.kind !== 2) {
        tipLine(flameTip, 'dim', f.file + ':' + f.line + ' (' + KIND_NAMES[f.kind] + ')');
      }
      if (f.src) tipLine(flameTip, 'src', f.src);
    }
    tipLine(flameTip, '', approx(tot[n]) + bytes(tot[n]) + ' (' + grouped(tot[n]) + ' bytes), ' +
      share(tot[n], root) + ' ' + OF_SNAPSHOT[snap]);
    const self = layout(snap).self[n];
    if (n > 0 && !isOther(n)) {
      tipLine(flameTip, '', 'self: ' + approx(self) + bytes(self) + ', ' + share(self, root));
    }
    tipLine(flameTip, '', approx(counts[snap][n]) + plural(counts[snap][n], 'allocation'));
    tipLine(flameTip, 'dim', n === state.zoom ? '' : 'click to zoom');
    placeTip(flameTip, flameBox, mx, my);
  }

  function canvasPoint(canvas, event) {
    const r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  }

  flame.addEventListener('mousemove', function (e) {
    const p = canvasPoint(flame, e);
    const n = hit(p[0], p[1]);
    if (n < 0) flameTip.hidden = true;
    else showFlameTip(n, p[0], p[1]);
  });
  flame.addEventListener('mouseleave', function () { flameTip.hidden = true; });
  flame.addEventListener('click', function (e) {
    const p = canvasPoint(flame, e);
    const n = hit(p[0], p[1]);
    if (n >= 0) zoomTo(n);
  });

  function zoomTo(n) {
    state.zoom = n;
    flameTip.hidden = true;
    renderBreadcrumb();
    renderFlame();
  }

  function renderBreadcrumb() {
    const nav = $('breadcrumb');
    nav.textContent = '';
    const path = ancestors(state.zoom);
    path.forEach(function (n, k) {
      if (k) nav.appendChild(el('span', 'sep', '\u203a'));
      const b = el('button', '', k === 0 ? 'all' : nodeLabel(n));
      b.type = 'button';
      b.title = nodeLabel(n);
      if (n === state.zoom) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', function () { zoomTo(n); });
      nav.appendChild(b);
    });
    $('reset').disabled = state.zoom === 0;
  }

  $('reset').addEventListener('click', function () { zoomTo(0); });

  function setSnapshot(snap) {
    state.snap = snap;
    document.querySelectorAll('button.snap').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.dataset.snap === snap));
    });
    if (!(totals[snap][state.zoom] > 0)) state.zoom = 0;
    renderCaption();
    renderBreadcrumb();
    applySearch();
    renderFlame();
    renderTable();
  }

  document.querySelectorAll('button.snap').forEach(function (b) {
    b.addEventListener('click', function () { setSnapshot(b.dataset.snap); });
  });

  $('orientation').addEventListener('click', function () {
    state.icicle = !state.icicle;
    const b = $('orientation');
    b.setAttribute('aria-pressed', String(state.icicle));
    renderFlame();
  });

  function renderCaption() {
    const snap = state.snap;
    const exactTotal = meta.snapshot_totals[SNAPSHOTS.indexOf(snap)];
    const treeTotal = totals[snap][0];
    const many = meta.processes.length > 1 ? ' (' + meta.processes.length +
      ' processes, each at its own peak)' : '';
    let text;
    if (snap === 'peak') {
      text = 'What was allocated at the peak, ' + seconds(meta.peak_at_s) + ' into the run: ' +
        bytes(exactTotal) + ' tracked (exact)' + many + '.';
    } else if (snap === 'end') {
      text = 'What was still allocated when recording ended: ' + bytes(exactTotal) +
        ' tracked (exact)' + many + '.';
    } else {
      text = 'Everything allocated during the run, freed or not: ' + approx(treeTotal) +
        bytes(treeTotal) + '.';
    }
    if (!meta.exact) {
      text += ' Frame widths are estimates from samples every ' + bytes(meta.sample_rate) +
        (snap === 'allocated' ? '.' : '; they add up to \u2248 ' + bytes(treeTotal) + '.');
    }
    $('snapshot-caption').textContent = text + ' Click a frame to zoom, Escape to zoom out, ' +
      '/ to search.';
  }

  // ---- search ------------------------------------------------------------------

  const searchText = frames.map(function (f) {
    return (frameLabel(f) + '\u0000' + f.file + ':' + f.line).toLowerCase();
  });

  function applySearch() {
    const term = $('search').value.trim().toLowerCase();
    state.term = term;
    state.match.fill(0);
    const out = $('search-result');
    if (!term) {
      out.textContent = '';
      return;
    }
    const frameHit = searchText.map(function (s) { return s.indexOf(term) >= 0; });
    const tot = totals[state.snap];
    const covered = new Uint8Array(N);
    let sum = 0;
    let frameCount = 0;
    for (let i = 1; i < N; i++) {
      const f = T.frame[i];
      const p = parent[i];
      covered[i] = covered[p] || state.match[p];
      if (f >= 0 && frameHit[f]) {
        state.match[i] = 1;
        frameCount++;
        // Nested matches (recursion, a file matching twice) are counted once.
        if (!covered[i]) sum += tot[i];
      }
    }
    out.textContent = frameCount
      ? plural(frameCount, 'frame') + ' match: ' + approx(sum) + bytes(sum) + ', ' +
        share(sum, tot[0]) + ' ' + OF_SNAPSHOT[state.snap] +
        (hasOthers ? ' in the frames on this page (the ' + grouped(data.prune.folded_children) +
          ' call paths folded into \u201cother\u201d are not searched; the table counts them)' : '')
      : 'no frame matches';
  }

  $('search').addEventListener('input', function () {
    applySearch();
    renderFlame();
  });

  document.addEventListener('keydown', function (e) {
    const typing = e.target && (e.target.tagName === 'INPUT');
    if (e.key === '/' && !typing) {
      e.preventDefault();
      $('search').focus();
    } else if (e.key === 'Escape') {
      if (typing && $('search').value) {
        $('search').value = '';
        applySearch();
        renderFlame();
      } else if (state.zoom !== 0) {
        zoomTo(0);
      }
    }
  });

  function renderPruneNote() {
    const pr = data.prune;
    if (!pr.other_nodes) {
      $('prune-note').textContent = 'Every one of the profile\u2019s ' + grouped(pr.profile_nodes) +
        ' call-tree nodes is on this page.';
      return;
    }
    const bar = pr.share > 0
      ? (100 * pr.share).toPrecision(2).replace(/\.?0+$/, '') + '% of the snapshot\u2019s total'
      : bytes(pr.min_bytes[0]);
    $('prune-note').textContent = 'To keep this page small, ' +
      plural(pr.folded_children, 'call path') + ' under ' + bar +
      ' in every snapshot are folded into ' + plural(pr.other_nodes, '\u201cother\u201d node') +
      ' (' + grouped(pr.page_nodes - pr.other_nodes) + ' of the profile\u2019s ' +
      grouped(pr.profile_nodes) + ' call-tree nodes are on this page); every total still ' +
      'adds up. heapmark report --html-min-bytes sets the bar (0 keeps everything). ' +
      'The table below counts every node.';
  }

  // ---- the table of top lines and functions ---------------------------------------

  const TABLE_ROWS = 40;

  function tableRows() {
    const root = totals[state.snap][0];
    return data[state.kind][state.snap].map(function (r) {
      const f = frames[r[0]];
      return {
        frame: f,
        label: state.kind === 'lines' ? frameLabel(f) : functionLabel(f),
        self: r[1],
        total: r[2],
        count: r[3],
        selfShare: root > 0 ? r[1] / root : 0,
        totalShare: root > 0 ? r[2] / root : 0,
      };
    });
  }

  function renderTable() {
    const rows = tableRows();
    const key = state.sortKey;
    const dir = state.sortDir;
    rows.sort(function (a, b) {
      const c = key === 'label' ? a.label.localeCompare(b.label) : a[key] - b[key];
      return dir * c || a.label.localeCompare(b.label);
    });
    const body = document.querySelector('#top tbody');
    body.textContent = '';
    const root = totals[state.snap][0];
    rows.slice(0, state.showAll ? rows.length : TABLE_ROWS).forEach(function (r) {
      const tr = document.createElement('tr');
      const where = el('td', 'where');
      where.appendChild(el('span', 'label', r.label));
      where.appendChild(el('span', 'kind', KIND_NAMES[r.frame.kind]));
      if (state.kind === 'lines' && r.frame.src) where.appendChild(el('span', 'src', r.frame.src));
      tr.appendChild(where);
      tr.appendChild(el('td', 'num', approx(r.self) + bytes(r.self)));
      tr.appendChild(el('td', 'num', share(r.self, root)));
      tr.appendChild(el('td', 'num', approx(r.total) + bytes(r.total)));
      tr.appendChild(el('td', 'num', share(r.total, root)));
      tr.appendChild(el('td', 'num', approx(r.count) + grouped(r.count)));
      tr.dataset.self = String(r.self);
      tr.dataset.total = String(r.total);
      tr.title = 'highlight in the flamegraph';
      tr.addEventListener('click', function () {
        $('search').value = state.kind === 'lines' ? r.label : r.frame.fn;
        applySearch();
        renderFlame();
      });
      body.appendChild(tr);
    });
    document.querySelectorAll('#top th').forEach(function (th) {
      th.setAttribute('aria-sort', th.dataset.key !== key ? 'none'
        : dir < 0 ? 'descending' : 'ascending');
    });
    const more = $('table-more');
    more.hidden = rows.length <= TABLE_ROWS;
    more.textContent = state.showAll ? 'Show the first ' + TABLE_ROWS
      : 'Show all ' + rows.length + ' rows';
    $('table-caption').textContent = plural(rows.length, 'row') +
      ': the largest by self and by total bytes ' + OF_SNAPSHOT[state.snap].replace(/^of /, 'in ') +
      '. Self: allocated by the ' + (state.kind === 'lines' ? 'line' : 'function') +
      ' itself; total: by it and everything it called. Allocations: its own.';
  }

  $('table-more').addEventListener('click', function () {
    state.showAll = !state.showAll;
    renderTable();
  });

  document.querySelectorAll('#top th').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      const key = th.dataset.key;
      if (state.sortKey === key) state.sortDir = -state.sortDir;
      else {
        state.sortKey = key;
        state.sortDir = key === 'label' ? 1 : -1;
      }
      renderTable();
    });
  });

  document.querySelectorAll('button.table-kind').forEach(function (b) {
    b.addEventListener('click', function () {
      state.kind = b.dataset.kind;
      document.querySelectorAll('button.table-kind').forEach(function (o) {
        o.setAttribute('aria-pressed', String(o === b));
      });
      renderTable();
    });
  });

  // ---- the timeline -------------------------------------------------------------

  const TL = data.timeline;
  const phases = data.phases.list.map(function (p) {
    return { name: p[0], t0: p[1], t1: p[2], depth: p[3], open: !!p[4] };
  });
  const gcs = data.gc.runs.map(function (g) {
    return { t0: g[0], t1: g[1], gen: g[2], before: g[3], after: g[4] };
  });
  const chart = $('timeline');
  const chartBox = $('timeline-box');
  const chartTip = $('timeline-tip');
  const tctx = chart.getContext('2d');
  const LANE = 17;
  const PLOT_HEIGHT = 230;
  const GC_LANE = 14;
  const MARGIN = { left: 76, right: 16 };
  const GC_COLOURS = ['#9bbb59', '#6b8e23', '#3d5a12'];
  const PHASE_COLOURS = ['#cfd8e8', '#e6d7c3', '#d6e4d0', '#e8d0dc'];
  const hasTimeline = TL.t.length > 0 || phases.length > 0 || gcs.length > 0;
  const laneCount = phases.reduce(function (m, p) { return Math.max(m, p.depth + 1); }, 0);
  let geometry = null;

  function niceStep(range, ticks) {
    const raw = range / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / power;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
  }

  function byteTicks(max) {
    let unit = 1;
    while (max / unit >= 1024 && unit < Math.pow(1024, 4)) unit *= 1024;
    const step = niceStep(max / unit, 4) * unit;
    const ticks = [];
    for (let v = 0; v <= max + 1e-9; v += step) ticks.push(v);
    return ticks;
  }

  function renderTimeline() {
    if (!hasTimeline) return;
    const width = Math.max(chartBox.clientWidth, 300);
    const top = laneCount * LANE + 6;
    const plotBottom = top + PLOT_HEIGHT;
    const height = plotBottom + GC_LANE + 26;
    const last = function (a) { return a.length ? a[a.length - 1] : 0; };
    const tMax = Math.max(meta.duration_s, last(TL.t),
      phases.reduce(function (m, p) { return Math.max(m, p.t1); }, 0),
      gcs.reduce(function (m, g) { return Math.max(m, g.t1); }, 0)) || 1;
    let yMax = meta.peak_bytes;
    for (let i = 0; i < TL.t.length; i++) yMax = Math.max(yMax, TL.tracked[i], TL.rss[i]);
    yMax = (yMax || 1) * 1.06;
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const X = function (t) { return MARGIN.left + t / tMax * plotWidth; };
    const Y = function (v) { return plotBottom - v / yMax * PLOT_HEIGHT; };
    geometry = { width: width, top: top, plotBottom: plotBottom, height: height, tMax: tMax,
      X: X, Y: Y, plotWidth: plotWidth };

    const dpr = window.devicePixelRatio || 1;
    chart.width = Math.round(width * dpr);
    chart.height = Math.round(height * dpr);
    chart.style.height = height + 'px';
    const c = tctx;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, width, height);
    c.font = '11px system-ui, sans-serif';
    c.fillStyle = '#fff';
    c.fillRect(MARGIN.left, top, plotWidth, PLOT_HEIGHT);

    // Phases: outermost ones as bands behind the plot, every one in its lane.
    phases.forEach(function (p, k) {
      const x0 = X(p.t0);
      const w = Math.max(X(p.t1) - x0, 1);
      const colour = PHASE_COLOURS[k % PHASE_COLOURS.length];
      if (p.depth === 0) {
        c.globalAlpha = 0.35;
        c.fillStyle = colour;
        c.fillRect(x0, top, w, PLOT_HEIGHT);
        c.globalAlpha = 1;
      }
      const y = p.depth * LANE + 2;
      c.fillStyle = colour;
      c.fillRect(x0, y, w, LANE - 3);
      c.strokeStyle = '#8d97a8';
      c.strokeRect(x0 + 0.5, y + 0.5, w - 1, LANE - 4);
      const room = Math.floor((w - 6) / 6.2);
      if (room >= 2) {
        c.fillStyle = '#1d1d1b';
        c.textBaseline = 'middle';
        c.fillText(p.name.length <= room ? p.name : p.name.slice(0, room - 1) + '\u2026', x0 + 3,
          y + (LANE - 3) / 2);
      }
    });

    // Axes and grid.
    c.strokeStyle = '#e3e0d6';
    c.fillStyle = '#66635c';
    c.textBaseline = 'middle';
    c.textAlign = 'right';
    byteTicks(yMax / 1.06).forEach(function (v) {
      const y = Math.round(Y(v)) + 0.5;
      c.beginPath();
      c.moveTo(MARGIN.left, y);
      c.lineTo(MARGIN.left + plotWidth, y);
      c.stroke();
      c.fillText(bytes(v), MARGIN.left - 6, y);
    });
    c.textAlign = 'center';
    c.textBaseline = 'top';
    const tStep = niceStep(tMax, Math.max(2, Math.floor(plotWidth / 90)));
    for (let t = 0; t <= tMax + 1e-9; t += tStep) {
      const x = Math.round(X(t)) + 0.5;
      c.beginPath();
      c.moveTo(x, top);
      c.lineTo(x, plotBottom);
      c.stroke();
      c.fillText(Number(t.toPrecision(6)) + ' s', x, plotBottom + GC_LANE + 6);
    }
    c.textAlign = 'left';
    c.strokeStyle = '#b9b5a9';
    c.strokeRect(MARGIN.left + 0.5, top + 0.5, plotWidth - 1, PLOT_HEIGHT - 1);

    // RSS, then tracked memory on top.
    [['rss', '#2f6db5'], ['tracked', '#b44b12']].forEach(function (s) {
      const values = TL[s[0]];
      if (!values.length) return;
      c.strokeStyle = s[1];
      c.lineWidth = 1.6;
      c.beginPath();
      for (let i = 0; i < values.length; i++) {
        const x = X(TL.t[i]);
        const y = Y(values[i]);
        if (i) c.lineTo(x, y);
        else c.moveTo(x, y);
      }
      c.stroke();
      c.lineWidth = 1;
    });

    // GC runs below the plot.
    gcs.forEach(function (g) {
      c.fillStyle = GC_COLOURS[Math.min(g.gen, 2)];
      c.fillRect(X(g.t0), plotBottom + 2, Math.max(X(g.t1) - X(g.t0), 1.5), GC_LANE - 4);
    });

    // The peak.
    const px = Math.round(X(meta.peak_at_s)) + 0.5;
    c.strokeStyle = '#c00';
    c.setLineDash([4, 3]);
    c.beginPath();
    c.moveTo(px, top);
    c.lineTo(px, plotBottom);
    c.stroke();
    c.setLineDash([]);
    c.fillStyle = '#c00';
    c.beginPath();
    c.arc(px, Y(meta.peak_bytes), 3.5, 0, 2 * Math.PI);
    c.fill();
    const label = 'peak ' + bytes(meta.peak_bytes) + ' at ' + seconds(meta.peak_at_s);
    c.textBaseline = 'top';
    const lw = c.measureText(label).width;
    c.fillText(label, px + 6 + lw > MARGIN.left + plotWidth ? px - 6 - lw : px + 6, top + 4);
  }

  function nearestSample(t) {
    const ts = TL.t;
    let lo = 0;
    let hi = ts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(ts[lo - 1] - t) < Math.abs(ts[lo] - t)) lo--;
    return lo;
  }

  function phasePath(t) {
    return phases.filter(function (p) { return p.t0 <= t && t <= p.t1; })
      .sort(function (a, b) { return a.depth - b.depth; })
      .map(function (p) { return p.name; });
  }

  chart.addEventListener('mousemove', function (e) {
    if (!geometry) return;
    const g = geometry;
    const p = canvasPoint(chart, e);
    const mx = p[0];
    const my = p[1];
    if (mx < MARGIN.left || mx > MARGIN.left + g.plotWidth) {
      chartTip.hidden = true;
      return;
    }
    const t = (mx - MARGIN.left) / g.plotWidth * g.tMax;
    chartTip.textContent = '';
    if (my < g.top - 4) {
      const lane = Math.floor((my - 2) / LANE);
      const ph = phases.filter(function (q) {
        return q.depth === lane && q.t0 <= t && t <= q.t1;
      })[0];
      if (ph) {
        tipLine(chartTip, 'title', 'phase ' + ph.name);
        tipLine(chartTip, '', seconds(ph.t0) + ' \u2013 ' + seconds(ph.t1) + ' (' +
          seconds(ph.t1 - ph.t0) + (ph.open ? ', still open at the end' : '') + ')');
      }
    } else if (my > g.plotBottom) {
      const tol = 3 / g.plotWidth * g.tMax;
      gcs.filter(function (q) { return q.t0 - tol <= t && t <= q.t1 + tol; }).slice(0, 4)
        .forEach(function (q) {
          tipLine(chartTip, 'title', 'GC of generation ' + q.gen + ' at ' + seconds(q.t0));
          tipLine(chartTip, '', ((q.t1 - q.t0) * 1000).toFixed(1) + ' ms; tracked ' +
            bytes(q.before) + ' \u2192 ' + bytes(q.after) + ' (freed ' +
            bytes(q.before - q.after) + ')');
        });
    }
    if (!chartTip.childNodes.length) {
      tipLine(chartTip, 'title', 'at ' + seconds(t));
      if (TL.t.length) {
        const i = nearestSample(t);
        tipLine(chartTip, '', 'tracked: ' + bytes(TL.tracked[i]) + ' (exact, at ' +
          seconds(TL.t[i]) + ')');
        tipLine(chartTip, '', 'RSS: ' + bytes(TL.rss[i]));
      }
      const names = phasePath(t);
      if (names.length) tipLine(chartTip, '', 'phase: ' + names.join(' \u203a '));
      if (Math.abs(g.X(meta.peak_at_s) - mx) < 4) {
        tipLine(chartTip, 'title', 'peak: ' + bytes(meta.peak_bytes) + ' at ' +
          seconds(meta.peak_at_s));
      }
    }
    placeTip(chartTip, chartBox, mx, my);
  });
  chart.addEventListener('mouseleave', function () { chartTip.hidden = true; });

  function fillTimelineText() {
    if (!hasTimeline) {
      $('timeline-empty').hidden = false;
      chartBox.hidden = true;
      return;
    }
    const legend = $('timeline-legend');
    [['tracked', 'tracked memory (exact)'], ['rss', 'RSS'], ['phase', 'phases'],
      ['gc', 'GC runs (darker: older generations)'], ['peak', 'the peak']].forEach(function (l) {
      const item = el('span', 'item');
      item.appendChild(el('span', 'swatch ' + l[0]));
      item.appendChild(document.createTextNode(l[1]));
      legend.appendChild(item);
    });
    if (phases.length) {
      const table = $('phases');
      table.hidden = false;
      const body = table.querySelector('tbody');
      phases.slice().sort(function (a, b) { return a.t0 - b.t0 || a.depth - b.depth; })
        .forEach(function (p) {
          let high = -1;
          for (let i = 0; i < TL.t.length; i++) {
            if (TL.t[i] >= p.t0 && TL.t[i] <= p.t1) high = Math.max(high, TL.tracked[i]);
          }
          const tr = document.createElement('tr');
          const name = el('td', 'name', p.name);
          name.style.paddingLeft = (8 + 16 * p.depth) + 'px';
          tr.appendChild(name);
          tr.appendChild(el('td', 'num', seconds(p.t0)));
          tr.appendChild(el('td', 'num', p.open ? 'open at the end' : seconds(p.t1)));
          tr.appendChild(el('td', 'num', seconds(p.t1 - p.t0)));
          tr.appendChild(el('td', 'num', high >= 0 ? bytes(high) : '\u2013'));
          body.appendChild(tr);
        });
    }
    const parts = [plural(TL.rows, 'sample') + (TL.rows > TL.t.length
      ? ' (drawn as ' + TL.t.length + ', keeping each stretch\u2019s highest)' : '')];
    parts.push(plural(data.gc.total, 'GC run') + (data.gc.total > gcs.length
      ? ' (the ' + gcs.length + ' that freed most are drawn)' : ''));
    parts.push(plural(data.phases.total, 'phase') + (data.phases.total > phases.length
      ? ' (the ' + phases.length + ' longest are drawn)' : ''));
    $('timeline-counts').textContent = parts.join(', ') + '.';
  }

  // ---- start ------------------------------------------------------------------------

  let pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      renderFlame();
      renderTimeline();
    });
  });

  fillHeader();
  fillTimelineText();
  renderTimeline();
  renderPruneNote();
  renderCaption();
  renderBreadcrumb();
  renderFlame();
  renderTable();

  /* For tests and the curious: what the flamegraph drew last, in canvas
   * pixels, with each frame's label and bytes. */
  window.heapmarkReport = {
    drawnFrames: function () {
      return drawn.node.map(function (n, k) {
        return {
          node: n, label: nodeLabel(n), x: drawn.x[k], y: drawn.y[k], w: drawn.w[k],
          bytes: totals[state.snap][n], matched: !!state.match[n],
        };
      });
    },
    state: function () {
      return { snapshot: state.snap, zoom: nodeLabel(state.zoom), icicle: state.icicle };
    },
  };
}());
