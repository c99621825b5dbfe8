/*
 * heapmark report.html, part 5 of 6: memory over time.
 *
 * Owns: the chart of tracked memory and RSS with the phases (named bands,
 * one lane per nesting level), the GC runs and the peak; its hover values;
 * the table of phases and the counts under the chart.
 * Must never: call a thinned or pruned series complete: the counts say
 * what was drawn of what the profile holds.
 */
(function (hm) {
  'use strict';

  const { data, meta, $, el, bytes, seconds, plural, tipLine, placeTip, canvasPoint } = hm;

  // ---- the timeline -------------------------------------------------------------

  const TL = data.timeline;
  const phases = data.phases.list.map(function (p) {
    return { name: p[0], t0: p[1], t1: p[2], depth: p[3], open: !!p[4] };
  });
  const gcs = data.gc.runs.map(function (g) {
    return { t0: g[0], t1: g[1], gen: g[2], before: g[3], after: g[4] };
  });
  /* Tracked memory as drawn: the samples, with the peak itself put in where
   * it fell between two of them.  Its bytes and time are exact, and a spike
   * shorter than the interval would otherwise not show on the line (nor in
   * a phase's highest figure) while the peak marker stands above it. */
  const tracked = (function () {
    const t = Array.from(TL.t);
    const v = Array.from(TL.tracked);
    if (!t.length || meta.peak_bytes <= 0) return { t: t, v: v };
    let k = 0;
    while (k < t.length && t[k] < meta.peak_at_s) k++;
    if (!(k < t.length && t[k] === meta.peak_at_s && v[k] >= meta.peak_bytes)) {
      t.splice(k, 0, meta.peak_at_s);
      v.splice(k, 0, meta.peak_bytes);
    }
    return { t: t, v: v };
  }());
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
    [[TL.t, TL.rss, '#2f6db5'], [tracked.t, tracked.v, '#b44b12']].forEach(function (s) {
      const times = s[0];
      const values = s[1];
      if (!values.length) return;
      c.strokeStyle = s[2];
      c.lineWidth = 1.6;
      c.beginPath();
      for (let i = 0; i < values.length; i++) {
        const x = X(times[i]);
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
          for (let i = 0; i < tracked.t.length; i++) {
            const t = tracked.t[i];
            if (t >= p.t0 && t <= p.t1) high = Math.max(high, tracked.v[i]);
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

  hm.timeline = { fill: fillTimelineText, render: renderTimeline, tracked: tracked };
}(heapmarkPage));
