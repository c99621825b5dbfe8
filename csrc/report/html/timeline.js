/*
 * heapmark report.html, part 5 of 6: memory over time.
 *
 * Owns: the chart of tracked memory and RSS with the phases (named bands,
 * one lane per nesting level), the GC runs and the peak; for a run of
 * several processes (data.job), the chart of the job instead: tracked
 * memory stacked by process on the job's clock, their sum, the combined
 * peak and each process's phases in lanes of its own; their hover values;
 * the table of phases and the counts under the chart.
 * Must never: call a thinned or pruned series complete: the counts say
 * what was drawn of what the profile holds, and the job's chart says how
 * often it was sampled.
 */
(function (hm) {
  'use strict';

  const { data, meta, $, el, bytes, seconds, plural, tipLine, placeTip, canvasPoint } = hm;

  // ---- the timeline -------------------------------------------------------------

  const TL = data.timeline;
  const JOB = data.job || null;
  const LAYER_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948',
    '#b07aa1', '#ff9da7', '#9c755f', '#86bcb6', '#d4a6c8', '#a0cbe8'];
  const OTHER_COLOUR = '#bab0ac';
  /* The job's layers (one per process drawn; the rest summed into one), the
   * top of each in the stack at every sample drawn, and the sums. */
  const layers = JOB ? JOB.processes.map(function (p, k) {
    return {
      pid: p.pid, label: p.label, command: p.command, t0: p.t_start, t1: p.t_end,
      others: p.others, summed: p.pid === 0, values: JOB.tracked[k],
      colour: p.pid === 0 ? OTHER_COLOUR : LAYER_COLOURS[k % LAYER_COLOURS.length],
    };
  }) : [];
  const stackTops = [];
  layers.forEach(function (l, k) {
    stackTops.push(l.values.map(function (v, i) { return v + (k ? stackTops[k - 1][i] : 0); }));
  });
  const sums = layers.length ? stackTops[layers.length - 1] : [];
  /* Phases, each with its lane above the plot: one lane per nesting level,
   * and for a job one set of lanes per process (its layer) that has any. */
  const phases = (JOB ? JOB.phases.map(function (p) {
    return { layer: p[0], name: p[1], t0: p[2], t1: p[3], depth: p[4], open: !!p[5] };
  }) : data.phases.list.map(function (p) {
    return { layer: -1, name: p[0], t0: p[1], t1: p[2], depth: p[3], open: !!p[4] };
  }));
  const laneStart = {};
  const laneCount = (function () {
    const depthOf = {};
    phases.forEach(function (p) {
      depthOf[p.layer] = Math.max(depthOf[p.layer] || 0, p.depth + 1);
    });
    let n = 0;
    Object.keys(depthOf).map(Number).sort(function (a, b) { return a - b; }).forEach(function (l) {
      laneStart[l] = n;
      n += depthOf[l];
    });
    return n;
  }());
  phases.forEach(function (p) { p.lane = laneStart[p.layer] + p.depth; });
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
  const hasTimeline = JOB || TL.t.length > 0 || phases.length > 0 || gcs.length > 0;
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

  const last = function (a) { return a.length ? a[a.length - 1] : 0; };
  const latest = function (list, end) {
    return list.reduce(function (m, x) { return Math.max(m, end(x)); }, 0);
  };

  /* The chart's size and scales: the highest value it must hold (yMax) and
   * the room above it (headroom: a share of it), the span of its clock
   * (tMax), and the rows of text under the time axis (notes). */
  function setGeometry(yMax, headroom, tMax, notes) {
    const width = Math.max(chartBox.clientWidth, 300);
    const top = laneCount * LANE + 6;
    const plotBottom = top + PLOT_HEIGHT;
    const height = plotBottom + GC_LANE + 26 + 15 * notes;
    yMax = (yMax || 1) * (1 + headroom);
    tMax = tMax || 1;
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const X = function (t) { return MARGIN.left + t / tMax * plotWidth; };
    const Y = function (v) { return plotBottom - v / yMax * PLOT_HEIGHT; };
    geometry = { width: width, top: top, plotBottom: plotBottom, height: height, tMax: tMax,
      yMax: yMax, headroom: headroom, X: X, Y: Y, plotWidth: plotWidth };

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
    return geometry;
  }

  function phaseColour(p, k) {
    return p.layer >= 0 ? layers[p.layer].colour : PHASE_COLOURS[k % PHASE_COLOURS.length];
  }

  /* Phases in their lanes (a job's lighter, in their process's colour);
   * one process's outermost ones also as bands behind the plot. */
  function drawPhases(c, g) {
    phases.forEach(function (p, k) {
      const x0 = g.X(p.t0);
      const w = Math.max(g.X(p.t1) - x0, 1);
      const colour = phaseColour(p, k);
      if (p.depth === 0 && p.layer < 0) {
        c.globalAlpha = 0.35;
        c.fillStyle = colour;
        c.fillRect(x0, g.top, w, PLOT_HEIGHT);
        c.globalAlpha = 1;
      }
      const y = p.lane * LANE + 2;
      c.globalAlpha = p.layer >= 0 ? 0.45 : 1;
      c.fillStyle = colour;
      c.fillRect(x0, y, w, LANE - 3);
      c.globalAlpha = 1;
      c.strokeStyle = '#8d97a8';
      c.strokeRect(x0 + 0.5, y + 0.5, w - 1, LANE - 4);
      const room = Math.floor((w - 6) / 6.2);
      if (room >= 2) {
        c.fillStyle = '#1d1d1b';
        c.textBaseline = 'middle';
        c.textAlign = 'left';
        c.fillText(p.name.length <= room ? p.name : p.name.slice(0, room - 1) + '\u2026', x0 + 3,
          y + (LANE - 3) / 2);
      }
    });
    // A job's lanes name their process in the margin.
    Object.keys(laneStart).map(Number).filter(function (l) { return l >= 0; }).forEach(function (l) {
      const layer = layers[l];
      const y = laneStart[l] * LANE + 2 + (LANE - 3) / 2;
      c.fillStyle = layer.colour;
      c.fillRect(4, y - 4, 8, 8);
      c.fillStyle = '#1d1d1b';
      c.textBaseline = 'middle';
      c.textAlign = 'left';
      c.fillText(layer.summed ? 'others' : 'pid ' + layer.pid, 15, y);
    });
  }

  function drawAxes(c, g) {
    c.strokeStyle = '#e3e0d6';
    c.fillStyle = '#66635c';
    c.textBaseline = 'middle';
    c.textAlign = 'right';
    byteTicks(g.yMax / (1 + g.headroom)).forEach(function (v) {
      const y = Math.round(g.Y(v)) + 0.5;
      c.beginPath();
      c.moveTo(MARGIN.left, y);
      c.lineTo(MARGIN.left + g.plotWidth, y);
      c.stroke();
      c.fillText(bytes(v), MARGIN.left - 6, y);
    });
    c.textAlign = 'center';
    c.textBaseline = 'top';
    const tStep = niceStep(g.tMax, Math.max(2, Math.floor(g.plotWidth / 90)));
    for (let t = 0; t <= g.tMax + 1e-9; t += tStep) {
      const x = Math.round(g.X(t)) + 0.5;
      c.beginPath();
      c.moveTo(x, g.top);
      c.lineTo(x, g.plotBottom);
      c.stroke();
      c.fillText(Number(t.toPrecision(6)) + ' s', x, g.plotBottom + GC_LANE + 6);
    }
    c.textAlign = 'left';
  }

  function drawFrame(c, g) {
    c.strokeStyle = '#b9b5a9';
    c.strokeRect(MARGIN.left + 0.5, g.top + 0.5, g.plotWidth - 1, PLOT_HEIGHT - 1);
  }

  function drawLine(c, g, times, values, colour) {
    if (!values.length) return;
    c.strokeStyle = colour;
    c.lineWidth = 1.6;
    c.beginPath();
    for (let i = 0; i < values.length; i++) {
      const x = g.X(times[i]);
      const y = g.Y(values[i]);
      if (i) c.lineTo(x, y);
      else c.moveTo(x, y);
    }
    c.stroke();
    c.lineWidth = 1;
  }

  // GC runs below the plot.
  function drawGc(c, g) {
    gcs.forEach(function (r) {
      c.fillStyle = GC_COLOURS[Math.min(r.gen, 2)];
      c.fillRect(g.X(r.t0), g.plotBottom + 2, Math.max(g.X(r.t1) - g.X(r.t0), 1.5), GC_LANE - 4);
    });
  }

  /* A peak: a dashed line, a dot on the value and its label beside. */
  function drawPeak(c, g, t, value, label) {
    const px = Math.round(g.X(t)) + 0.5;
    c.strokeStyle = '#c00';
    c.setLineDash([4, 3]);
    c.beginPath();
    c.moveTo(px, g.top);
    c.lineTo(px, g.plotBottom);
    c.stroke();
    c.setLineDash([]);
    c.fillStyle = '#c00';
    c.beginPath();
    c.arc(px, g.Y(value), 3.5, 0, 2 * Math.PI);
    c.fill();
    c.textBaseline = 'top';
    c.textAlign = 'left';
    const lw = c.measureText(label).width;
    c.fillText(label, px + 6 + lw > MARGIN.left + g.plotWidth ? px - 6 - lw : px + 6, g.top + 4);
  }

  function renderTimeline() {
    if (!hasTimeline) return;
    if (JOB) {
      renderJob();
      return;
    }
    const tMax = Math.max(meta.duration_s, last(TL.t), latest(phases, function (p) { return p.t1; }),
      latest(gcs, function (r) { return r.t1; }));
    let yMax = meta.peak_bytes;
    for (let i = 0; i < TL.t.length; i++) yMax = Math.max(yMax, TL.tracked[i], TL.rss[i]);
    const g = setGeometry(yMax, 0.06, tMax, 0);
    const c = tctx;
    drawPhases(c, g);
    drawAxes(c, g);
    drawFrame(c, g);
    // RSS, then tracked memory on top.
    drawLine(c, g, TL.t, TL.rss, '#2f6db5');
    drawLine(c, g, tracked.t, tracked.v, '#b44b12');
    drawGc(c, g);
    drawPeak(c, g, meta.peak_at_s, meta.peak_bytes,
      'peak ' + bytes(meta.peak_bytes) + ' at ' + seconds(meta.peak_at_s));
  }

  // ---- a run of several processes: the job ---------------------------------------

  function jobPeakLabel() {
    return 'job peak ' + bytes(JOB.peak.bytes) + ' at ' + seconds(JOB.peak.at_s);
  }

  function resolutionText() {
    return JOB.interval_s > 0 ? 'a sample every ' + seconds(JOB.interval_s) : '';
  }

  function renderJob() {
    const tMax = Math.max(meta.duration_s, last(JOB.t),
      latest(layers, function (l) { return l.t1 === null ? 0 : l.t1; }),
      latest(phases, function (p) { return p.t1; }), latest(gcs, function (r) { return r.t1; }));
    // Room above the highest total for the peak's label.
    const g = setGeometry(Math.max(JOB.peak.bytes, latest(sums, function (v) { return v; })),
      0.15, tMax, 1);
    const c = tctx;
    drawPhases(c, g);
    drawAxes(c, g);
    // Each process's band, from the layers below it to its own top.
    const n = JOB.t.length;
    layers.forEach(function (l, k) {
      if (!n) return;
      c.fillStyle = l.colour;
      c.beginPath();
      for (let i = 0; i < n; i++) {
        const x = g.X(JOB.t[i]);
        const y = g.Y(stackTops[k][i]);
        if (i) c.lineTo(x, y);
        else c.moveTo(x, y);
      }
      for (let i = n - 1; i >= 0; i--) c.lineTo(g.X(JOB.t[i]), g.Y(k ? stackTops[k - 1][i] : 0));
      c.closePath();
      c.fill();
    });
    drawLine(c, g, JOB.t, sums, '#1d1d1b');
    drawFrame(c, g);
    drawGc(c, g);
    drawPeak(c, g, JOB.peak.at_s, JOB.peak.bytes, jobPeakLabel());
    // What the bands are, and how often they were sampled: under the axis.
    c.fillStyle = '#66635c';
    c.textAlign = 'right';
    c.textBaseline = 'top';
    c.fillText('tracked memory of each process, stacked on the job\u2019s clock' +
      (JOB.interval_s > 0 ? ': ' + resolutionText() : ''), MARGIN.left + g.plotWidth,
    g.plotBottom + GC_LANE + 22);
    c.textAlign = 'left';
  }

  function running(l, t) {
    return l.summed || (t >= l.t0 && (l.t1 === null || t <= l.t1));
  }

  /* The readout lists this many processes at most: those holding most. */
  const READOUT_PROCESSES = 12;

  /* The readout at time t: the job's total and each running process's
   * bytes at the sample drawn nearest, the top of the stack first. */
  function jobReadout(t, g, mx) {
    if (!JOB.t.length) return;
    const i = nearestSample(JOB.t, t);
    tipLine(chartTip, 'title', 'at ' + seconds(t) + ': the job ' + bytes(sums[i]) +
      ' tracked (exact, sample at ' + seconds(JOB.t[i]) + ')');
    const shown = [];
    layers.forEach(function (l, k) {
      if (l.values[i] || running(l, JOB.t[i])) shown.push(k);
    });
    const idle = layers.length - shown.length;
    shown.sort(function (a, b) { return layers[b].values[i] - layers[a].values[i] || a - b; });
    const rest = shown.splice(READOUT_PROCESSES);
    shown.sort(function (a, b) { return b - a; }).forEach(function (k) {
      tipLine(chartTip, '', layers[k].label + ': ' + bytes(layers[k].values[i]));
    });
    if (rest.length) {
      tipLine(chartTip, 'dim', rest.length + ' more process' + (rest.length === 1 ? '' : 'es') +
        ': ' + bytes(rest.reduce(function (sum, k) { return sum + layers[k].values[i]; }, 0)));
    }
    if (idle) tipLine(chartTip, 'dim', idle + ' not running then');
    phases.filter(function (p) { return p.t0 <= t && t <= p.t1; }).forEach(function (p) {
      tipLine(chartTip, '', 'phase: ' + p.name + ' (' + layers[p.layer].label + ')');
    });
    if (Math.abs(g.X(JOB.peak.at_s) - mx) < 4) tipLine(chartTip, 'title', jobPeakLabel());
  }

  function nearestSample(ts, t) {
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
        return q.lane === lane && q.t0 <= t && t <= q.t1;
      })[0];
      if (ph) {
        tipLine(chartTip, 'title', 'phase ' + ph.name);
        if (ph.layer >= 0) tipLine(chartTip, '', 'in ' + layers[ph.layer].label);
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
    if (!chartTip.childNodes.length && JOB) {
      jobReadout(t, g, mx);
    } else if (!chartTip.childNodes.length) {
      tipLine(chartTip, 'title', 'at ' + seconds(t));
      if (TL.t.length) {
        const i = nearestSample(TL.t, t);
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
    if (!chartTip.childNodes.length) {
      chartTip.hidden = true;
      return;
    }
    placeTip(chartTip, chartBox, mx, my);
  });
  chart.addEventListener('mouseleave', function () { chartTip.hidden = true; });

  function legendItem(legend, swatchClass, text, colour) {
    const item = el('span', 'item');
    const swatch = el('span', 'swatch ' + swatchClass);
    if (colour) swatch.style.background = colour;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(text));
    legend.appendChild(item);
    return item;
  }

  /* The processes with a band of their own. */
  const ownBands = layers.filter(function (l) { return !l.summed; }).length;

  function fillLegend() {
    const legend = $('timeline-legend');
    if (JOB) {
      layers.forEach(function (l) {
        const item = legendItem(legend, 'layer', l.label, l.colour);
        item.title = !l.summed ? l.command : l.others ? 'summed: the processes beyond the ' +
          ownBands + ' that held most' : 'summed: samples of processes the job\u2019s table ' +
          'does not name';
      });
      [['sum', 'the job\u2019s total (tracked, exact)'], ['phase', 'phases, by process'],
        ['gc', 'GC runs of the main process'], ['peak', 'the job peak']].forEach(function (l) {
        legendItem(legend, l[0], l[1]);
      });
      return;
    }
    [['tracked', 'tracked memory (exact)'], ['rss', 'RSS'], ['phase', 'phases'],
      ['gc', 'GC runs (darker: older generations)'], ['peak', 'the peak']].forEach(function (l) {
      legendItem(legend, l[0], l[1]);
    });
  }

  /* The highest value of a phase: its process's for a job, else tracked. */
  function phaseHigh(p) {
    const times = JOB ? JOB.t : tracked.t;
    const values = JOB ? layers[p.layer].values : tracked.v;
    let high = -1;
    for (let i = 0; i < times.length; i++) {
      if (times[i] >= p.t0 && times[i] <= p.t1) high = Math.max(high, values[i]);
    }
    return high;
  }

  function fillPhases() {
    const table = $('phases');
    table.hidden = false;
    if (JOB) {
      const head = table.querySelector('thead tr');
      head.insertBefore(el('th', '', 'process'), head.children[1]);
    }
    const body = table.querySelector('tbody');
    phases.slice().sort(function (a, b) {
      return a.t0 - b.t0 || a.layer - b.layer || a.depth - b.depth;
    }).forEach(function (p) {
      const high = phaseHigh(p);
      const tr = document.createElement('tr');
      const name = el('td', 'name', p.name);
      name.style.paddingLeft = (8 + 16 * p.depth) + 'px';
      tr.appendChild(name);
      if (JOB) tr.appendChild(el('td', 'process', layers[p.layer].label));
      tr.appendChild(el('td', 'num', seconds(p.t0)));
      tr.appendChild(el('td', 'num', p.open ? 'open at the end' : seconds(p.t1)));
      tr.appendChild(el('td', 'num', seconds(p.t1 - p.t0)));
      tr.appendChild(el('td', 'num', high >= 0 ? bytes(high) : '\u2013'));
      body.appendChild(tr);
    });
  }

  function fillTimelineText() {
    if (!hasTimeline) {
      $('timeline-empty').hidden = false;
      chartBox.hidden = true;
      return;
    }
    fillLegend();
    if (phases.length) fillPhases();
    const parts = [];
    if (JOB) {
      parts.push(plural(JOB.samples, 'sample') + ' of the job\u2019s ' + JOB.processes_total +
        ' processes' + (JOB.interval_s > 0 ? ', ' + resolutionText() : '') +
        (JOB.samples > JOB.t.length ? ' (drawn as ' + JOB.t.length +
          ', keeping each stretch\u2019s highest total)' : '') +
        (JOB.processes_total > ownBands ? '; the processes beyond the ' + ownBands +
          ' that held most are summed into one band' : ''));
      parts.push(plural(data.gc.total, 'GC run') + ' of the main process' +
        (data.gc.total > gcs.length ? ' (the ' + gcs.length + ' that freed most are drawn)' : ''));
      parts.push(plural(JOB.phases_total, 'phase') + (JOB.phases_total > phases.length
        ? ' (the ' + phases.length + ' longest are drawn)' : ''));
      $('timeline-counts').textContent = parts.join(', ') + '. Each process\u2019s bytes are ' +
        'its exact total as it published it at its latest tick, so the job\u2019s figures are ' +
        'those of one sample.';
      return;
    }
    parts.push(plural(TL.rows, 'sample') + (TL.rows > TL.t.length
      ? ' (drawn as ' + TL.t.length + ', keeping each stretch\u2019s highest)' : ''));
    parts.push(plural(data.gc.total, 'GC run') + (data.gc.total > gcs.length
      ? ' (the ' + gcs.length + ' that freed most are drawn)' : ''));
    parts.push(plural(data.phases.total, 'phase') + (data.phases.total > phases.length
      ? ' (the ' + phases.length + ' longest are drawn)' : ''));
    $('timeline-counts').textContent = parts.join(', ') + '.';
  }

  /* For tests: the job's chart as drawn, and where layer k's band lies at
   * the sample drawn nearest to t (CSS pixels). */
  function jobChart() {
    if (!JOB) return null;
    return {
      layers: layers.map(function (l) {
        return { pid: l.pid, label: l.label, colour: l.colour, others: l.others };
      }),
      peakLabel: jobPeakLabel(),
      resolution: resolutionText(),
      lanes: laneCount,
    };
  }

  function jobBand(k, t) {
    if (!JOB || !geometry || !JOB.t.length) return null;
    const i = nearestSample(JOB.t, t);
    return { x: geometry.X(JOB.t[i]), t: JOB.t[i], top: geometry.Y(stackTops[k][i]),
      bottom: geometry.Y(k ? stackTops[k - 1][i] : 0), bytes: layers[k].values[i] };
  }

  hm.timeline = { fill: fillTimelineText, render: renderTimeline, tracked: tracked,
    jobChart: jobChart, jobBand: jobBand };
}(heapmarkPage));
