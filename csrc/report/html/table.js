/*
 * heapmark report.html, part 3 of 6: the table of top lines and functions.
 *
 * Owns: the rows csrc/report/html_top_table.c chose for each snapshot, their
 * sorting by any column, and the rows shown (the first few, or all).
 * Must never: rank by anything but the figures shown.
 */
(function (hm) {
  'use strict';

  const { data, state, $, el, frames, totals, approx, bytes, grouped, share, plural, frameLabel,
    functionLabel, OF_SNAPSHOT, KIND_NAMES } = hm;

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
        hm.flame.search(state.kind === 'lines' ? r.label : r.frame.fn);
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

  hm.table = { render: renderTable };
}(heapmarkPage));
