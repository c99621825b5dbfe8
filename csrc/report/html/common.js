/*
 * heapmark report.html, part 1 of 6 (setup.py joins common.js, flame.js,
 * table.js, sources.js, timeline.js and main.js, in that order, into the
 * page's one script): the data csrc/report/html.c embeds in the script element
 * "heapmark-data", decoded once, and what every part shares.
 *
 * Owns: number and time formatting (as the C reports print them), the DOM
 * helpers, the frames, the call tree's arrays with the per-snapshot layout
 * (children by size, offsets, self bytes), kinds at the walks of the heap
 * standing for the peak and the end (a subtree's kinds, a kind's colour),
 * and the page's state.
 * Must never: put program text into the page as markup (here and in every
 * part: only textContent and canvas text, no innerHTML), fetch anything,
 * or show an estimate without saying so (sampled profiles mark per-frame
 * figures with ≈).
 */
/* exported heapmarkPage */
const heapmarkPage = (function () {
  'use strict';

  const data = JSON.parse(document.getElementById('heapmark-data').textContent);
  const meta = data.meta;
  /* A run of several processes adds the job peak (html.c writes its arrays
   * only where the profile has it). */
  const SNAPSHOTS = ['peak', 'end', 'allocated'].concat('job-peak' in data.tree.total
    ? ['job-peak'] : []);
  const APPROX_SIGN = meta.exact ? '' : '\u2248 ';
  /* The sign for an estimate, except on zero, which is never estimated. */
  function approx(n) {
    return n ? APPROX_SIGN : '';
  }
  const OF_SNAPSHOT = {
    peak: 'of the peak',
    end: 'of what was left at the end',
    allocated: 'of everything allocated',
    'job-peak': 'of what the processes held at the job peak',
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

  // ---- kinds at the peak -----------------------------------------------------------

  /* Page order is depth first: node i's subtree is [i, subtreeEnd[i]). */
  const subtreeEnd = new Int32Array(N);
  for (let i = 0; i < N; i++) subtreeEnd[i] = i + 1;
  for (let i = N - 1; i > 0; i--) {
    if (subtreeEnd[i] > subtreeEnd[parent[i]]) subtreeEnd[parent[i]] = subtreeEnd[i];
  }

  /* The walks standing for the peak and the end (none for "allocated"): their
   * rows on page nodes, by node (as html_kinds.c writes them), and each kind's
   * bytes and objects in all. */
  const walks = {};
  ['peak', 'end'].forEach(function (snap) {
    const w = (data.kinds || {})[snap];
    if (!w) return;
    const n = w.rows.length;
    const walk = {
      at_s: w.at_s, seconds: w.seconds, tracked_bytes: w.tracked_bytes, objects: w.objects,
      note: w.note, names: w.names, node: new Int32Array(n), name: new Int32Array(n),
      bytes: new Float64Array(n), byName: new Float64Array(w.names.length),
      countByName: new Float64Array(w.names.length), total: 0, dominant: null,
    };
    w.rows.forEach(function (r, k) {
      walk.node[k] = r[0];
      walk.name[k] = r[1];
      walk.bytes[k] = r[2];
      walk.byName[r[1]] += r[2];
      walk.countByName[r[1]] += r[3];
      walk.total += r[2];
    });
    walks[snap] = walk;
  });
  const hasKinds = Object.keys(walks).length > 0;

  function lowerBound(a, v) {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /* [[kind index, bytes], ...] of node i's subtree at snap's walk, largest
   * first; [] without a walk. */
  function kindSums(i, snap) {
    const w = walks[snap];
    if (!w) return [];
    const sums = new Map();
    for (let k = lowerBound(w.node, i), end = lowerBound(w.node, subtreeEnd[i]); k < end; k++) {
      sums.set(w.name[k], (sums.get(w.name[k]) || 0) + w.bytes[k]);
    }
    // Names come largest first, so the index breaks ties by the walk's order.
    return Array.from(sums).filter(function (e) { return e[1] > 0; }).sort(function (a, b) {
      return b[1] - a[1] || a[0] - b[0];
    });
  }

  /* [[kind, bytes], ...] of node i's subtree at snap's walk, largest first. */
  function kindsOf(i, snap) {
    const names = walks[snap] ? walks[snap].names : [];
    return kindSums(i, snap).map(function (e) { return [names[e[0]], e[1]]; });
  }

  /* The kind holding most of node i's subtree at snap's walk (its index in
   * the walk's names), or -1; kept once found. */
  function dominantKind(i, snap) {
    const w = walks[snap];
    if (!w) return -1;
    if (!w.dominant) w.dominant = new Int32Array(N).fill(-2);
    if (w.dominant[i] === -2) {
      const sums = kindSums(i, snap);
      w.dominant[i] = sums.length ? sums[0][0] : -1;
    }
    return w.dominant[i];
  }

  /* "64% dict of __main__.Line, 20% str": shares of total, as peak.txt says a
   * line's kinds (the first always, then those of 1% or more). */
  function kindsText(list, total, most) {
    const parts = [];
    for (let k = 0; k < list.length && k < most; k++) {
      const pct = total > 0 ? 100 * list[k][1] / total : 0;
      if (k > 0 && pct < 1) break;
      parts.push(pct.toFixed(0) + '% ' + list[k][0]);
    }
    return parts.join(', ');
  }

  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  /* One colour per kind name on this page, whichever snapshot is shown:
   * distinct ones for the largest kinds (the peak's first, then the end's),
   * a hue from the name for the rest; "native" (no Python object) neutral. */
  const KIND_PALETTE = ['#86b3e0', '#f2a65a', '#8cc68c', '#e8878a', '#b9a0d6', '#d4b08c',
    '#f0a6d0', '#cfcf5f', '#7fd0d6', '#f3d36b', '#a9a9e8', '#b5d98f'];
  const NO_KIND_COLOUR = 'rgb(233,231,225)';
  const kindColours = new Map([['native', 'rgb(176,171,158)']]);
  ['peak', 'end'].forEach(function (snap) {
    (walks[snap] ? walks[snap].names : []).forEach(function (name) {
      if (!kindColours.has(name) && kindColours.size - 1 < KIND_PALETTE.length) {
        kindColours.set(name, KIND_PALETTE[kindColours.size - 1]);
      }
    });
  });
  function kindColour(name) {
    let c = kindColours.get(name);
    if (c) return c;
    let h = hash(name);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0; // mixed: FNV's low bits are weak
    c = 'hsl(' + (h % 360) + ',' + (45 + (h >>> 9) % 30) + '%,' + (62 + (h >>> 17) % 12) + '%)';
    kindColours.set(name, c);
    return c;
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
    colour: 'code',
    showAllKinds: false,
  };

  // ---- tooltips -------------------------------------------------------------------

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
  function canvasPoint(canvas, event) {
    const r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  }

  return { data, meta, SNAPSHOTS, OF_SNAPSHOT, approx, bytes, grouped, seconds, share, plural,
    el, $, frames, frameLabel, functionLabel, KIND_NAMES, T, N, parent, depth, start, totals,
    counts, isOther, hasOthers, nodeLabel, layout, walks, hasKinds, kindsOf, dominantKind,
    kindsText, hash, kindColour, NO_KIND_COLOUR, state, tipLine, placeTip, canvasPoint };
}());
