/*
 * heapmark report.html, part 2 of 6: the flamegraph.
 *
 * Owns: drawing the call tree on a canvas (flame: root at the bottom, or
 * icicle), its colours (by code, or by the kind of object most of a frame's
 * subtree was at the walk of the heap, with a legend), its tooltips, zoom
 * and breadcrumb, the snapshot buttons and their caption, search
 * (highlighted frames, bytes summed with nested matches counted once) and
 * the note on what pruning folded.
 * Must never: draw a frame wider than its parent, or sum a subtree twice.
 */
(function (hm) {
  'use strict';

  const { data, meta, state, $, el, T, N, frames, totals, counts, parent, depth, start, approx,
    bytes, grouped, seconds, share, plural, isOther, nodeLabel, frameLabel, layout, tipLine,
    placeTip, canvasPoint, SNAPSHOTS, OF_SNAPSHOT, KIND_NAMES, hasOthers, walks, hasKinds, kindsOf,
    dominantKind, kindColour, NO_KIND_COLOUR, hash } = hm;

  // ---- flamegraph ------------------------------------------------------------------

  const ROW = 18;
  const MIN_WIDTH = 0.35;
  const flame = $('flame');
  const flameBox = $('flame-box');
  const flameTip = $('flame-tip');
  const ctx = flame.getContext('2d');
  const FONT = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
  let drawn = { node: [], x: [], y: [], w: [], fill: [] };
  /* Tooltips list a subtree's largest kinds. */
  const TIP_KINDS = 5;
  /* The legend of colours by kind names the largest few. */
  const LEGEND_KINDS = 10;

  /* By kind: the kind holding most of the frame's subtree at the walk. */
  function kindFill(i) {
    const k = dominantKind(i, state.snap);
    return k < 0 ? NO_KIND_COLOUR : kindColour(walks[state.snap].names[k]);
  }

  const colours = new Map();
  function colour(i) {
    if (state.colour === 'kind') return kindFill(i);
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
    const list = { node: [], x: [], y: [], w: [], fill: [] };
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
      const fill = state.match[n] ? 'rgb(224,64,224)' : colour(n);
      list.fill.push(fill);
      ctx.fillStyle = fill;
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
    renderKindLegend();
  }

  /* Colour by kind: what each colour stands for, the kinds of the frames
   * drawn (largest in the walk first). */
  function renderKindLegend() {
    const legend = $('kind-legend');
    legend.textContent = '';
    legend.hidden = state.colour !== 'kind';
    if (legend.hidden) return;
    const w = walks[state.snap];
    if (!w) {
      legend.appendChild(el('span', 'small', state.snap === 'allocated' ||
        state.snap === 'job-peak'
        ? 'Kinds are known for the peak and the end only: choose Peak or End to colour ' +
          'frames by kind.'
        : 'This profile has no walk of the heap standing for the ' + state.snap + '.'));
      return;
    }
    const shown = new Set();
    let none = false;
    drawn.node.forEach(function (n) {
      const k = dominantKind(n, state.snap);
      if (k < 0) none = true;
      else shown.add(k);
    });
    const kinds = Array.from(shown).sort(function (a, b) { return a - b; });
    function item(colourText, text) {
      const span = el('span', 'kind-key');
      const swatch = el('span', 'kind-swatch');
      swatch.style.background = colourText;
      span.appendChild(swatch);
      span.appendChild(document.createTextNode(text));
      legend.appendChild(span);
    }
    legend.appendChild(el('span', 'small', 'Each frame in the colour of the kind most of its ' +
      'bytes were at the walk of the heap (' + seconds(w.at_s) + '):'));
    kinds.slice(0, LEGEND_KINDS).forEach(function (k) { item(kindColour(w.names[k]), w.names[k]); });
    if (kinds.length > LEGEND_KINDS) {
      legend.appendChild(el('span', 'small', plural(kinds.length - LEGEND_KINDS, 'more kind')));
    }
    if (none) item(NO_KIND_COLOUR, 'none live at the walk');
  }

  function hit(mx, my) {
    for (let k = drawn.node.length - 1; k >= 0; k--) {
      if (mx >= drawn.x[k] && mx < drawn.x[k] + Math.max(drawn.w[k], 1) &&
          my >= drawn.y[k] && my < drawn.y[k] + ROW) return drawn.node[k];
    }
    return -1;
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
    tipKinds(n);
    tipLine(flameTip, 'dim', n === state.zoom ? '' : 'click to zoom');
    placeTip(flameTip, flameBox, mx, my);
  }

  /* The subtree's largest kinds at the walk standing for the snapshot. */
  function tipKinds(n) {
    const w = walks[state.snap];
    if (!w) return;
    const list = kindsOf(n, state.snap);
    if (!list.length) {
      tipLine(flameTip, 'dim', 'kinds: none of its blocks was live at the walk of the heap (' +
        seconds(w.at_s) + ')');
      return;
    }
    const all = list.reduce(function (sum, e) { return sum + e[1]; }, 0);
    tipLine(flameTip, 'dim', 'kinds at the walk of the heap (' + seconds(w.at_s) + '), of ' +
      approx(all) + bytes(all) + ':');
    list.slice(0, TIP_KINDS).forEach(function (e) {
      tipLine(flameTip, '', share(e[1], all) + ' ' + e[0] + ' (' + approx(e[1]) +
        bytes(e[1]) + ')');
    });
    if (list.length > TIP_KINDS) {
      tipLine(flameTip, 'dim', plural(list.length - TIP_KINDS, 'more kind'));
    }
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
    hm.table.render();
    hm.table.renderKinds();
  }

  /* A run of several processes: what they held together at the job peak. */
  if (SNAPSHOTS.indexOf('job-peak') >= 0) {
    const b = el('button', 'snap', 'Job peak');
    b.type = 'button';
    b.dataset.snap = 'job-peak';
    b.setAttribute('aria-pressed', 'false');
    b.title = 'what every process held at the moment their sum peaked';
    document.querySelector('button.snap').parentNode.appendChild(b);
  }
  document.querySelectorAll('button.snap').forEach(function (b) {
    b.addEventListener('click', function () { setSnapshot(b.dataset.snap); });
  });

  const colourButton = $('colour-mode');
  colourButton.hidden = !hasKinds;
  colourButton.addEventListener('click', function () {
    state.colour = state.colour === 'code' ? 'kind' : 'code';
    colourButton.textContent = 'Colour: ' + state.colour;
    colourButton.setAttribute('aria-pressed', String(state.colour === 'kind'));
    flameTip.hidden = true;
    renderFlame();
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
    } else if (snap === 'job-peak') {
      const job = data.job;
      text = 'What the run\u2019s processes held together at the job peak, ' +
        bytes(job.peak.bytes) + ' tracked at ' + seconds(job.peak.at_s) + ' (the sum of their ' +
        'totals at one sample): ' + bytes(exactTotal) + ' tracked (exact), each process\u2019s ' +
        'blocks as it kept them at its next tick' + (job.interval_s > 0 ? ', within about ' +
          seconds(job.interval_s) + ' of the peak' : '') + '; a process not running then ' +
        'holds nothing here.';
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

  hm.flame = {
    render: renderFlame,
    renderBreadcrumb: renderBreadcrumb,
    renderCaption: renderCaption,
    renderPruneNote: renderPruneNote,
    /* Highlights what text matches, as if typed into the search box. */
    search: function (text) {
      $('search').value = text;
      applySearch();
      renderFlame();
    },
    drawn: function () { return drawn; },
  };
}(heapmarkPage));
