/*
 * heapmark report.html, part 6 of 6: the run's metadata and the start.
 *
 * Owns: the header (command, Python, mode and sample rate, run time, peak
 * tracked and RSS, a run of several processes' job peak, what remained,
 * the processes, and which numbers are estimates), drawing everything once
 * and again on resize, and the small read-only window.heapmarkReport the
 * tests read the canvas through.
 * Must never: change the page's state from heapmarkReport.
 */
(function (hm) {
  'use strict';

  const { meta, state, $, el, bytes, grouped, seconds, totals, nodeLabel, kindsOf } = hm;

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
    const job = hm.data.job;
    if (job) {
      row('job peak', bytes(job.peak.bytes) + ' tracked by the run\u2019s ' +
        job.processes_total + ' processes together at ' + seconds(job.peak.at_s) +
        ' (exact, at one sample' + (job.interval_s > 0 ? '; a sample every ' +
          seconds(job.interval_s) : '') + ')', false);
    }
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

  // ---- start ------------------------------------------------------------------------

  let pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      hm.flame.render();
      hm.timeline.render();
    });
  });

  fillHeader();
  hm.timeline.fill();
  hm.timeline.render();
  hm.flame.renderPruneNote();
  hm.flame.renderCaption();
  hm.flame.renderBreadcrumb();
  hm.flame.render();
  hm.table.render();
  hm.table.renderKinds();
  hm.table.renderAdvice();
  hm.sources.fill();

  /* For tests and the curious: what the flamegraph drew last, in canvas
   * pixels, with each frame's label, bytes and fill colour. */
  window.heapmarkReport = {
    drawnFrames: function () {
      const drawn = hm.flame.drawn();
      return drawn.node.map(function (n, k) {
        return {
          node: n, label: nodeLabel(n), x: drawn.x[k], y: drawn.y[k], w: drawn.w[k],
          bytes: totals[state.snap][n], matched: !!state.match[n], fill: drawn.fill[k],
        };
      });
    },
    /* The tracked-memory line of the chart: its times and bytes. */
    trackedLine: function () {
      return { t: hm.timeline.tracked.t.slice(), v: hm.timeline.tracked.v.slice() };
    },
    /* A run of several processes: the job's chart (its layers, with their
     * colours, and its peak's label), or null. */
    jobChart: function () {
      return hm.timeline.jobChart();
    },
    /* Where layer k's band lies at the sample drawn nearest to t. */
    jobBand: function (k, t) {
      return hm.timeline.jobBand(k, t);
    },
    state: function () {
      return { snapshot: state.snap, zoom: nodeLabel(state.zoom), icicle: state.icicle };
    },
    /* [[kind, bytes], ...] of a page node's subtree at the walk of the heap
     * standing for the snapshot shown (or the one named), largest first. */
    kindsOf: function (node, snapshot) {
      return kindsOf(node, snapshot || state.snap);
    },
    /* How the flamegraph colours its frames: "code" or "kind". */
    colourMode: function () {
      return state.colour;
    },
  };
}(heapmarkPage));
