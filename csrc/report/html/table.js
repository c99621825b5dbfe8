/*
 * heapmark report.html, part 3 of 6: the table of top lines and functions,
 * and the table of kinds at the peak.
 *
 * Owns: the rows csrc/report/html_top_table.c chose for each snapshot, their
 * sorting by any column, the rows shown (the first few, or all), and each
 * line's kinds at the walk of the heap standing for the snapshot; the kinds
 * of a walk in all, with the sentence saying where they come from.
 * Must never: rank by anything but the figures shown, or show kinds without
 * saying which walk they come from (the allocated snapshot has none).
 */
(function (hm) {
  'use strict';

  const { data, state, $, el, frames, totals, approx, bytes, grouped, share, plural, frameLabel,
    functionLabel, OF_SNAPSHOT, KIND_NAMES, walks, hasKinds, kindsText, kindColour } = hm;

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
        walkBytes: r.length > 5 ? r[5] : 0,
        kinds: r.length > 5 ? r[6] : [],
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
    // A line's kinds: its own blocks at the walk standing for the snapshot.
    const walk = state.kind === 'lines' ? walks[state.snap] : undefined;
    $('top-kinds').hidden = !walk;
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
      if (walk) {
        const list = r.kinds.map(function (k) { return [walk.names[k[0]], k[1]]; });
        const cell = el('td', 'kinds', list.length ? kindsText(list, r.walkBytes, 3) : '\u2013');
        cell.title = list.length ? 'of ' + approx(r.walkBytes) + bytes(r.walkBytes) +
          ' at the walk of the heap' : 'none of its blocks was live at the walk of the heap';
        tr.appendChild(cell);
      }
      tr.dataset.self = String(r.self);
      tr.dataset.total = String(r.total);
      tr.title = 'highlight in the flamegraph';
      tr.addEventListener('click', function () {
        hm.flame.search(state.kind === 'lines' ? r.label : r.frame.fn);
      });
      body.appendChild(tr);
    });
    document.querySelectorAll('#top th[data-key]').forEach(function (th) {
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
      ' itself; total: by it and everything it called. Allocations: its own.' +
      (walk ? ' Kinds: what the line\u2019s own blocks were at the walk of the heap under ' +
        '\u201cKinds at the ' + state.snap + '\u201d, as shares of its bytes then.' : '');
  }

  $('table-more').addEventListener('click', function () {
    state.showAll = !state.showAll;
    renderTable();
  });

  document.querySelectorAll('#top th[data-key]').forEach(function (th) {
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

  // ---- kinds at the peak ----------------------------------------------------------

  const KIND_ROWS = 25;

  function renderKinds() {
    const snap = state.snap;
    const w = walks[snap];
    const table = $('kinds');
    const more = $('kinds-more');
    const noWalk = snap === 'allocated' || snap === 'job-peak';
    $('kinds-title').textContent = noWalk ? 'Kinds' : 'Kinds at the ' + snap;
    if (!hasKinds) {
      $('kinds-empty').hidden = false;
      $('kinds-note').hidden = true;
      table.hidden = true;
      more.hidden = true;
      return;
    }
    table.hidden = !w;
    more.hidden = true;
    if (!w) {
      $('kinds-note').textContent = noWalk
        ? 'Kinds are known for the peak and the end only: heapmark walks the heap near the ' +
          'peak and at the end, not at every allocation. Choose Peak or End above.'
        : 'This profile has no walk of the heap standing for the ' + snap + '.';
      return;
    }
    $('kinds-note').textContent = 'Kinds at the ' + snap + ', ' + w.note + '. A block counts ' +
      'as the kind of the object living in it or owning it (native: no Python object); % is ' +
      'of the ' + approx(w.total) + bytes(w.total) + ' the walk found.';
    const body = table.querySelector('tbody');
    body.textContent = '';
    const shown = state.showAllKinds ? w.names.length : Math.min(w.names.length, KIND_ROWS);
    // The names come largest first (html_kinds.c ranks them).
    for (let k = 0; k < shown; k++) {
      const tr = el('tr');
      const b = w.byName[k];
      const c = w.countByName[k];
      tr.appendChild(el('td', 'num', approx(b) + bytes(b)));
      tr.appendChild(el('td', 'num', share(b, w.total)));
      tr.appendChild(el('td', 'num', c ? approx(c) + grouped(c) : ''));
      const name = el('td', 'kind-name');
      const swatch = el('span', 'kind-swatch');
      swatch.style.background = kindColour(w.names[k]);
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(w.names[k]));
      tr.appendChild(name);
      tr.dataset.bytes = String(b);
      body.appendChild(tr);
    }
    if (w.names.length > KIND_ROWS) {
      more.hidden = false;
      more.textContent = state.showAllKinds ? 'Show the first ' + KIND_ROWS
        : 'Show all ' + w.names.length + ' kinds';
    }
  }

  $('kinds-more').addEventListener('click', function () {
    state.showAllKinds = !state.showAllKinds;
    renderKinds();
  });

  // ---- what to change (advice.c's text) --------------------------------------------

  function renderAdvice() {
    const advice = data.advice || { items: [], source: '' };
    $('advice-section').hidden = advice.items.length === 0;
    const list = $('advice');
    list.textContent = '';
    advice.items.forEach(function (a) {
      const li = el('li', 'advice-' + a.type, a.text);
      li.dataset.saving = String(a.saving);
      list.appendChild(li);
    });
    $('advice-source').textContent = advice.source
      ? 'Class and list figures are ' + advice.source + '.' : '';
  }

  hm.table = { render: renderTable, renderKinds: renderKinds, renderAdvice: renderAdvice };
}(heapmarkPage));
