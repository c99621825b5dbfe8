/*
 * heapmark report.html, part 4 of 6: the program's source files, line by
 * line, as `heapmark report --lines` prints them.
 *
 * Owns: the file chooser and the table of one file's lines with what each
 * held at the peak, allocated in all, how many allocations it made and the
 * kinds of what it held at the peak's walk, its callees included
 * (csrc/report/source_lines.c sums them).
 * Must never: sum anything itself: the figures are the profile's.
 */
(function (hm) {
  'use strict';

  const { data, meta, $, el, bytes, grouped, approx, plural } = hm;
  const sources = data.sources || [];

  function cell(row, text, className) {
    row.appendChild(el('td', className, text));
  }

  function renderFile(k) {
    const file = sources[k];
    const body = $('source').querySelector('tbody');
    body.textContent = '';
    file.lines.forEach(function (l) {
      const tr = el('tr');
      cell(tr, String(l[0]), 'num');
      cell(tr, l[1] ? approx(l[1]) + bytes(l[1]) : '', 'num');
      cell(tr, l[2] ? approx(l[2]) + bytes(l[2]) : '', 'num');
      cell(tr, l[3] ? approx(l[3]) + grouped(l[3]) : '', 'num');
      cell(tr, l[5] || '', 'kinds');
      cell(tr, l[4], 'src');
      body.appendChild(tr);
    });
    $('source-caption').textContent = file.file + ': ' + approx(file.peak) + bytes(file.peak) +
      ' at the peak, ' + approx(file.allocated) + bytes(file.allocated) + ' allocated in all; ' +
      plural(file.lines.length, 'line') + ' that allocated. A line\u2019s figures include ' +
      'what the functions it called allocated' +
      (meta.exact ? '.' : '; \u2248 marks estimates from samples.');
  }

  function fill() {
    if (!sources.length) {
      $('sources-empty').hidden = false;
      $('source').hidden = true;
      $('source-file').disabled = true;
      return;
    }
    const select = $('source-file');
    sources.forEach(function (file, k) {
      const option = el('option', '', file.file + ' \u2014 ' + approx(file.peak) +
        bytes(file.peak) + ' at the peak');
      option.value = String(k);
      select.appendChild(option);
    });
    select.addEventListener('change', function () {
      renderFile(Number(select.value));
    });
    if (data.sources_omitted) {
      $('sources-omitted').textContent = plural(data.sources_omitted, 'more file') +
        ' of the program, holding less, left out of this page: heapmark report PROFILE ' +
        '--lines FILE.py shows any file.';
      $('sources-omitted').hidden = false;
    }
    renderFile(0);
  }

  hm.sources = { fill: fill, render: renderFile };
}(heapmarkPage));
