// The review page's script: renders the embedded data, one selected article at a time.
// Every piece of data goes into the page as text (textContent, attribute values), never as markup.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('review-data').textContent);
  var SVGNS = document.getElementById('svgns').namespaceURI;
  var STORE_KEY = 'conflict-events-review:' + D.page_id;
  var LIST_STEP = 200;
  var FIELD_LABELS = {
    event_date: 'event_date', event_end_date: 'event_end_date', time_precision: 'time_precision',
    event_type: 'event_type', sub_event_type: 'sub_event_type', actor1: 'actor1', actor1_type: 'actor1 type',
    assoc_actors_1: 'assoc_actors_1', actor2: 'actor2', actor2_type: 'actor2 type', assoc_actors_2: 'assoc_actors_2',
    country: 'country', admin1: 'admin1', location: 'location', geo_precision: 'geo_precision',
    fatalities: 'fatalities', civilian_targeting: 'civilian_targeting', source: 'source', notes: 'notes'
  };
  var PRECISION = {
    time_precision: {1: 'the day is known', 2: 'within a week', 3: 'the month or vaguer'},
    geo_precision: {1: 'the named town', 2: 'near a named place', 3: 'only a region'}
  };

  // ------------------------------------------------------------------ helpers
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
        if (k === 'text') el.textContent = attrs[k];
        else if (k === 'class') el.className = attrs[k];
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), attrs[k]);
        else el.setAttribute(k, attrs[k]);
      }
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, kid) {
    if (kid == null || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { add(el, k); }); return; }
    el.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
  }
  function s(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) {
      if (k === 'text') el.textContent = attrs[k]; else el.setAttribute(k, attrs[k]);
    }
    return el;
  }
  function $(id) { return document.getElementById(id); }
  function colour(type) { return D.colours[type] || '#8c959f'; }
  function fmt(v) {
    if (v == null || v === '') return '\u2013';
    if (Array.isArray(v)) return v.length ? v.join('; ') : '\u2013';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return String(v);
  }
  function num(v, digits) { return v == null ? '\u2013' : Number(v).toFixed(digits); }
  function short(id) { return id ? String(id).slice(0, 8) : '\u2013'; }
  function loadStored(key, fallback) {
    try { var raw = window.localStorage.getItem(key); return raw ? JSON.parse(raw) : fallback; }
    catch (e) { return fallback; }
  }
  function saveStored(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
  }

  // ------------------------------------------------------------------ data
  var items = D.items;
  items.forEach(function (it, k) {
    it.key = k;
    var a = (it.article_id && D.articles[it.article_id]) || {};
    it.article = a;
    var words = [it.file_name, a.title || '', a.source || '', a.text || '', it.error || ''];
    it.events.forEach(function (e) { words.push(e.actor1 || '', e.actor2 || '', e.location || '', e.admin1 || '', e.notes || ''); });
    it.search = null;
    it.words = words;
  });
  function searchText(it) {
    if (it.search === null) { it.search = it.words.join('\n').toLowerCase(); it.words = null; }
    return it.search;
  }
  var decisions = loadStored(STORE_KEY, []);
  var state = {item: null, active: null, shown: LIST_STEP, filtered: items};

  function decisionsOf(eventId) {
    var stored = (D.reviews[eventId] || []).map(function (d) { return Object.assign({stored: true}, d); });
    return stored.concat(decisions.filter(function (d) { return d.event_id === eventId; }));
  }
  function standing(eventId) {
    var ds = decisionsOf(eventId);
    return ds.length ? ds[ds.length - 1].verdict : null;
  }
  function fixes(eventId) {
    var out = {};
    decisionsOf(eventId).forEach(function (d) { if (d.verdict === 'fix') out[d.field] = d; });
    return out;
  }
  function decide(item, event, verdict, field, value) {
    var d = {event_id: event.event_id, run_id: item.run_id, article_id: item.article_id, verdict: verdict,
      decided_at: new Date().toISOString(), reviewer: $('reviewer').value.trim() || null};
    if (verdict === 'fix') { d.field = field; d.value = value; }
    decisions.push(d);
    saveStored(STORE_KEY, decisions);
    updateCount();
  }
  function updateCount() {
    var n = decisions.length;
    $('decision-count').textContent = n + (n === 1 ? ' decision' : ' decisions');
  }

  // ------------------------------------------------------------------ header
  function renderHeader() {
    var nOk = 0, nFailed = 0, nEvents = 0;
    items.forEach(function (it) { if (it.status === 'ok') nOk++; else nFailed++; nEvents += it.events.length; });
    $('summary').textContent = items.length + ' articles (' + nOk + ' ok, ' + nFailed + ' failed) \u00b7 ' +
      nEvents + ' events' + (D.unique ? ' \u00b7 unique events shown' : '') + ' \u00b7 ' + D.db;
    var rows = D.runs.map(function (r) {
      var model = (r.backend ? r.backend + '/' : '') + (r.model || '?');
      var tokens = (r.prompt_tokens || 0) + (r.completion_tokens || 0);
      return h('tr', null,
        h('td', {text: short(r.run_id), title: r.run_id}), h('td', {text: model}),
        h('td', {text: (r.prompt_name || '?') + ' ' + short(r.prompt_hash)}),
        h('td', {text: r.status || ''}),
        h('td', {text: fmt(r.n_ok) + ' ok / ' + fmt(r.n_failed) + ' failed / ' + fmt(r.n_skipped) + ' skipped'}),
        h('td', {text: fmt(r.n_events) + ' events, ' + fmt(r.n_calls) + ' calls, ' + tokens + ' tokens'}),
        h('td', {text: r.cost_usd == null ? 'cost \u2013' : '$' + Number(r.cost_usd).toFixed(4)}),
        h('td', {text: num(r.seconds, 1) + ' s'}),
        h('td', {text: (r.started_at || '').replace('T', ' ').slice(0, 19)}));
    });
    var head = h('tr', null, ['run', 'model', 'prompt', 'status', 'articles', 'work', 'cost', 'time', 'started']
      .map(function (t) { return h('th', {text: t}); }));
    $('runs').replaceChildren(h('table', null, h('thead', null, head), h('tbody', null, rows)));
  }

  // ------------------------------------------------------------------ filters and list
  function fillSelect(sel, values) {
    values.sort().forEach(function (v) { sel.appendChild(h('option', {value: v, text: v})); });
  }
  function setupFilters() {
    var countries = {}, types = {};
    items.forEach(function (it) { it.events.forEach(function (e) {
      if (e.country) countries[e.country] = 1; if (e.event_type) types[e.event_type] = 1;
    }); });
    fillSelect($('f-country'), Object.keys(countries));
    fillSelect($('f-type'), Object.keys(types));
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(applyFilters, 150); }
    $('f-text').addEventListener('input', later);
    ['f-country', 'f-type', 'f-from', 'f-to', 'f-fmin', 'f-fmax', 'f-status', 'f-decision'].forEach(function (id) {
      $(id).addEventListener('change', applyFilters);
      $(id).addEventListener('input', later);
    });
  }
  function readFilters() {
    function int(id) { var v = $(id).value; return v === '' ? null : Number(v); }
    return {text: $('f-text').value.trim().toLowerCase(), country: $('f-country').value, type: $('f-type').value,
      from: $('f-from').value, to: $('f-to').value, fmin: int('f-fmin'), fmax: int('f-fmax'),
      status: $('f-status').value, decision: $('f-decision').value};
  }
  function eventFilterActive(f) {
    return !!(f.country || f.type || f.from || f.to || f.fmin != null || f.fmax != null);
  }
  function eventMatches(e, f) {
    if (f.country && e.country !== f.country) return false;
    if (f.type && e.event_type !== f.type) return false;
    if (f.from && !(e.event_date && (e.event_end_date || e.event_date) >= f.from)) return false;
    if (f.to && !(e.event_date && e.event_date <= f.to)) return false;
    if (f.fmin != null && !(e.fatalities != null && e.fatalities >= f.fmin)) return false;
    if (f.fmax != null && !(e.fatalities != null && e.fatalities <= f.fmax)) return false;
    return true;
  }
  function itemMatches(it, f) {
    if (f.status && it.status !== f.status) return false;
    if (f.decision === 'none' && it.events.some(function (e) { return standing(e.event_id); })) return false;
    if (f.decision === 'wrong' && !it.events.some(function (e) { return standing(e.event_id) === 'wrong'; })) return false;
    if (eventFilterActive(f) && !it.events.some(function (e) { return eventMatches(e, f); })) return false;
    if (f.text && searchText(it).indexOf(f.text) < 0) return false;
    return true;
  }
  function applyFilters() {
    var f = readFilters();
    var key = JSON.stringify(f);
    if (key === state.filterKey) return;  // e.g. the 'change' after 'input' when a field loses focus
    state.filterKey = key;
    state.filters = f;
    state.filtered = items.filter(function (it) { return itemMatches(it, f); });
    state.shown = LIST_STEP;
    renderList();
    if (state.item) renderCards();
  }
  function listEntry(it) {
    var a = it.article;
    var meta;
    if (it.status === 'failed') meta = h('div', {class: 'meta'}, h('span', {class: 'badge failed', text: 'failed'}), it.error || '');
    else {
      var countries = {}, dates = [];
      it.events.forEach(function (e) { if (e.country) countries[e.country] = 1; if (e.event_date) dates.push(e.event_date); });
      dates.sort();
      var wrong = it.events.filter(function (e) { return standing(e.event_id) === 'wrong'; }).length;
      meta = h('div', {class: 'meta'}, it.events.length + ' event' + (it.events.length === 1 ? '' : 's'),
        Object.keys(countries).length ? ' \u00b7 ' + Object.keys(countries).join(', ') : '',
        dates.length ? ' \u00b7 ' + dates[0] + (dates[dates.length - 1] !== dates[0] ? ' \u2026 ' + dates[dates.length - 1] : '') : '',
        wrong ? h('span', {class: 'badge wrong', text: wrong + ' wrong'}) : null);
    }
    var li = h('li', {'data-key': it.key, class: state.item === it ? 'selected' : null,
      onclick: function () { go(it, null); }},
      h('div', {class: 'name', text: it.file_name + (D.runs.length > 1 ? '  [' + short(it.run_id) + ']' : '')}),
      a.title ? h('div', {class: 'title', text: a.title}) : null, meta);
    return li;
  }
  function renderList() {
    var list = $('article-list');
    var shown = state.filtered.slice(0, state.shown);
    var kids = shown.map(listEntry);
    if (state.filtered.length > shown.length) {
      var rest = state.filtered.length - shown.length;
      kids.push(h('li', {class: 'more', text: 'Show ' + Math.min(rest, LIST_STEP) + ' more (' + rest + ' not shown)',
        onclick: function () { state.shown += LIST_STEP; renderList(); }}));
    }
    list.replaceChildren.apply(list, kids);
    $('f-count').textContent = state.filtered.length + ' of ' + items.length + ' articles';
  }

  // ------------------------------------------------------------------ the article and its spans
  function spansOf(it) {
    var spans = [];
    it.events.forEach(function (e, i) {
      (e.evidence_start || []).forEach(function (start, j) {
        var end = (e.evidence_end || [])[j];
        if (start != null && end != null && end > start) spans.push({s: start, e: end, ev: i});
      });
    });
    return spans;
  }
  function renderText(it, text) {
    var spans = spansOf(it);
    var cuts = {0: 1}; cuts[text.length] = 1;
    spans.forEach(function (sp) { cuts[Math.min(sp.s, text.length)] = 1; cuts[Math.min(sp.e, text.length)] = 1; });
    var bounds = Object.keys(cuts).map(Number).sort(function (a, b) { return a - b; });
    var box = h('div', {class: 'article-text', id: 'article-text'});
    for (var k = 0; k + 1 < bounds.length; k++) {
      var a = bounds[k], b = bounds[k + 1];
      var piece = text.slice(a, b);
      var over = spans.filter(function (sp) { return sp.s <= a && sp.e >= b; }).map(function (sp) { return sp.ev; });
      over = over.filter(function (v, i) { return over.indexOf(v) === i; });
      if (!over.length) { box.appendChild(document.createTextNode(piece)); continue; }
      var first = it.events[over[0]];
      var mark = h('mark', {class: 'hl' + (over.length > 1 ? ' multi' : ''), 'data-ev': over.join(' '),
        style: '--c:' + colour(first.event_type), title: over.map(function (i) { return '#' + (i + 1) + ' ' + (it.events[i].event_type || ''); }).join(', '),
        onclick: onMarkClick}, piece);
      box.appendChild(mark);
    }
    return box;
  }
  function onMarkClick(ev) {
    var list = ev.currentTarget.getAttribute('data-ev').split(' ').map(Number);
    var at = list.indexOf(state.active);
    var next = at < 0 ? list[0] : list[(at + 1) % list.length];  // overlapping spans: each click the next event
    activate(next, 'card');
  }
  function activate(i, scroll) {
    state.active = i;
    var marks = document.querySelectorAll('#article-text mark.hl');
    var firstMark = null;
    for (var k = 0; k < marks.length; k++) {
      var on = marks[k].getAttribute('data-ev').split(' ').map(Number).indexOf(i) >= 0;
      marks[k].classList.toggle('active', on);
      if (on && !firstMark) firstMark = marks[k];
    }
    var cards = document.querySelectorAll('#cards .card');
    var card = null;
    for (var c = 0; c < cards.length; c++) {
      var me = Number(cards[c].getAttribute('data-ev')) === i;
      cards[c].classList.toggle('active', me);
      if (me) card = cards[c];
    }
    if ((scroll === 'card' || scroll === 'both') && card) card.scrollIntoView({block: 'nearest'});
    if ((scroll === 'text' || scroll === 'both') && firstMark) firstMark.scrollIntoView({block: 'center'});
    var e = state.item && state.item.events[i];
    if (e) setHash(state.item, e.event_id);
  }

  function renderArticle() {
    var it = state.item;
    var view = $('view');
    if (!it) { view.replaceChildren(h('p', {class: 'hint', text: 'Select an article.'})); return; }
    var a = it.article;
    var meta = [it.file_name, a.published ? 'published ' + a.published : null, a.source || null,
      a.url ? 'url ' + a.url : null, 'run ' + short(it.run_id), it.seconds != null ? num(it.seconds, 1) + ' s' : null,
      it.article_id ? 'id ' + it.article_id : null].filter(Boolean).join(' \u00b7 ');
    var pane = h('section', {id: 'article-pane'},
      h('h2', {text: a.title || it.file_name}),
      h('div', {class: 'ameta'}, h('span', {class: 'badge ' + it.status, text: it.status}), meta),
      it.status === 'failed' ? h('div', {class: 'error-box', id: 'failure'}, h('b', {text: 'Failed: '}), it.error || 'no reason recorded') : null,
      a.text != null ? renderText(it, a.text) : h('p', {class: 'muted', text: 'The file never became an article (no text stored).'}));
    var cards = h('section', {id: 'cards-pane'}, h('div', {id: 'cards'}));
    view.replaceChildren(pane, cards);
    renderCards();
    if (state.active != null) activate(state.active, 'both');
  }

  // ------------------------------------------------------------------ event cards
  function renderCards() {
    var it = state.item;
    var box = $('cards');
    if (!it || !box) return;
    if (!it.events.length) {
      box.replaceChildren(h('p', {class: 'muted', text: it.status === 'ok' ? 'No events in this article.' : 'No events: the extraction failed.'}));
      return;
    }
    var f = state.filters;
    box.replaceChildren.apply(box, it.events.map(function (e, i) {
      var c = card(it, e, i);
      if (f && eventFilterActive(f) && !eventMatches(e, f)) c.classList.add('dim');
      return c;
    }));
    if (state.active != null) {
      var active = box.querySelector('.card[data-ev="' + state.active + '"]');
      if (active) active.classList.add('active');
    }
  }
  function card(it, e, i) {
    var st = standing(e.event_id);
    var fx = fixes(e.event_id);
    function redraw() { renderCards(); refreshListEntry(it); }
    var decide_ = h('div', {class: 'decide'},
      h('button', {type: 'button', class: 'ok' + (st === 'correct' ? ' on' : ''), 'data-verdict': 'correct', text: '\u2713 correct',
        onclick: function (ev) { ev.stopPropagation(); decide(it, e, 'correct'); redraw(); }}),
      h('button', {type: 'button', class: 'bad' + (st === 'wrong' ? ' on' : ''), 'data-verdict': 'wrong', text: '\u2717 wrong',
        onclick: function (ev) { ev.stopPropagation(); decide(it, e, 'wrong'); redraw(); }}),
      st ? h('span', {class: 'badge ' + st, 'data-standing': st, text: st}) : h('span', {class: 'muted', text: 'not reviewed'}));
    var rows = Object.keys(FIELD_LABELS).map(function (name) { return fieldRow(it, e, name, fx[name], redraw); });
    var el = h('div', {class: 'card', 'data-ev': i, 'data-event-id': e.event_id, style: '--c:' + colour(e.event_type)},
      h('h3', {text: '#' + (i + 1) + ' ' + fmt(e.event_type) + ' / ' + fmt(e.sub_event_type),
        onclick: function () { activate(i, 'text'); }}),
      decide_,
      h('table', {class: 'fields'}, h('tbody', null, rows)),
      h('h4', {text: 'Evidence'}), evidenceList(it, e, i),
      h('h4', {text: 'Geocode'}), geo(it, e),
      h('h4', {text: 'Rules that changed this event'}), rulesList(e),
      D.unique ? [h('h4', {text: 'Other articles reporting the same event'}), uniqueBlock(it, e)] : null,
      decisionHistory(e));
    el.addEventListener('click', function (ev) {
      if (ev.target.closest('button, input, a, .fixform')) return;
      activate(i, 'text');
    });
    return el;
  }
  function fieldValue(e, name) {
    var v = e[name];
    if (PRECISION[name] && v != null) return v + ' (' + (PRECISION[name][v] || '?') + ')';
    return fmt(v);
  }
  function fieldRow(it, e, name, fix, redraw) {
    var val = h('td', {class: 'val', 'data-field': name});
    if (fix) { val.appendChild(h('span', {class: 'old', text: fieldValue(e, name)})); val.appendChild(document.createTextNode(fmt(fix.value))); }
    else val.textContent = fieldValue(e, name);
    var btn = h('button', {type: 'button', class: 'fixbtn', 'data-fix': name, text: 'fix', title: 'Correct this field',
      onclick: function (ev) { ev.stopPropagation(); openFix(it, e, name, val, fix, redraw); }});
    return h('tr', {class: fix ? 'fixed' : null}, h('th', {text: FIELD_LABELS[name]}), val, h('td', {class: 'act'}, btn));
  }
  function parseValue(name, raw) {
    var kind = D.fields[name];
    raw = raw.trim();
    if (kind === 'list') return {value: raw ? raw.split(';').map(function (x) { return x.trim(); }).filter(Boolean) : []};
    if (raw === '') {
      if (kind === 'str' || kind === 'date') return {value: null};
      return {error: 'a value is needed'};
    }
    if (kind === 'date') return /^\d{4}-\d{2}-\d{2}$/.test(raw) ? {value: raw} : {error: 'YYYY-MM-DD'};
    if (kind === 'precision') return /^[123]$/.test(raw) ? {value: Number(raw)} : {error: '1, 2 or 3'};
    if (kind === 'count') return /^\d+$/.test(raw) ? {value: Number(raw)} : {error: 'a whole number >= 0'};
    if (kind === 'bool') return raw === 'true' || raw === 'false' ? {value: raw === 'true'} : {error: 'true or false'};
    return {value: raw};
  }
  function openFix(it, e, name, cell, fix, redraw) {
    var current = fix ? fix.value : e[name];
    var input = h('input', {type: 'text', value: Array.isArray(current) ? current.join('; ') : (current == null ? '' : String(current)),
      'aria-label': 'corrected ' + name});
    var msg = h('span', {class: 'err'});
    function save() {
      var p = parseValue(name, input.value);
      if (p.error) { msg.textContent = p.error; return; }
      decide(it, e, 'fix', name, p.value);
      redraw();
    }
    input.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') save(); if (ev.key === 'Escape') redraw(); });
    cell.replaceChildren(h('div', {class: 'fixform'}, input,
      h('button', {type: 'button', 'data-save': name, text: 'save', onclick: function (ev) { ev.stopPropagation(); save(); }}),
      h('button', {type: 'button', text: 'cancel', onclick: function (ev) { ev.stopPropagation(); redraw(); }}), msg));
    input.focus();
  }
  function evidenceList(it, e, i) {
    var ul = h('ul');
    (e.evidence || []).forEach(function (q, j) {
      var start = (e.evidence_start || [])[j], end = (e.evidence_end || [])[j];
      var found = start != null && end != null;
      ul.appendChild(h('li', {class: 'ev' + (found ? '' : ' missing'),
        onclick: found ? function (ev) { ev.stopPropagation(); activate(i, 'text'); } : null},
        '\u201c' + q + '\u201d ', h('span', {class: 'muted', text: found ? 'chars ' + start + '\u2013' + end : 'not found in the article text'})));
    });
    if (!(e.evidence || []).length) ul.appendChild(h('li', {class: 'muted', text: 'no evidence'}));
    return ul;
  }
  function geo(it, e) {
    var lines = h('div', null,
      h('div', {text: 'method: ' + fmt(e.geo_method) + (e.geo_confidence != null ? ' (confidence ' + num(e.geo_confidence, 2) + ')' : '')}),
      h('div', {text: 'precision: ' + fieldValue(e, 'geo_precision')}),
      h('div', {text: 'lat/lon: ' + (e.latitude == null ? '\u2013' : num(e.latitude, 3) + ', ' + num(e.longitude, 3))}),
      h('div', {text: [e.location, e.admin1, e.country].filter(Boolean).join(', ') || '\u2013'}));
    return h('div', {class: 'geo'}, e.latitude != null && e.longitude != null ? mapSvg(it, e) : null, lines);
  }
  function mapSvg(it, e) {
    // Two equirectangular panels in (lon + 180, 90 - lat) units: the world, and 12 degrees around the point.
    var svg = s('svg', {width: 250, height: 92, viewBox: '0 0 250 92', role: 'img', 'aria-label': 'map of the event'});
    var X = e.longitude + 180, Y = 90 - e.latitude, R = 6;
    var world = s('svg', {x: 2, y: 6, width: 160, height: 80, viewBox: '0 0 360 180', preserveAspectRatio: 'none'});
    if (D.outlines.world) world.appendChild(s('path', {class: 'land', d: D.outlines.world}));
    for (var lon = 0; lon <= 360; lon += 30) world.appendChild(s('line', {class: 'grat', x1: lon, y1: 0, x2: lon, y2: 180}));
    for (var lat = 0; lat <= 180; lat += 30) world.appendChild(s('line', {class: 'grat' + (lat === 90 ? ' eq' : ''), x1: 0, y1: lat, x2: 360, y2: lat}));
    world.appendChild(s('rect', {class: 'box', x: X - R, y: Y - R, width: 2 * R, height: 2 * R}));
    world.appendChild(s('circle', {class: 'pt', cx: X, cy: Y, r: 3}));
    svg.appendChild(world);
    var zoom = s('svg', {x: 170, y: 2, width: 78, height: 78, viewBox: (X - R) + ' ' + (Y - R) + ' ' + 2 * R + ' ' + 2 * R});
    zoom.appendChild(s('rect', {class: 'sea', x: X - R, y: Y - R, width: 2 * R, height: 2 * R}));
    var land = D.outlines.detail[e.country] || D.outlines.world;
    if (D.outlines.world) zoom.appendChild(s('path', {class: 'land', d: D.outlines.world}));
    if (land) zoom.appendChild(s('path', {class: 'land home', d: land}));
    var step = 2;
    for (var gx = Math.ceil((X - R) / step) * step; gx <= X + R; gx += step) zoom.appendChild(s('line', {class: 'grat', x1: gx, y1: Y - R, x2: gx, y2: Y + R}));
    for (var gy = Math.ceil((Y - R) / step) * step; gy <= Y + R; gy += step) zoom.appendChild(s('line', {class: 'grat', x1: X - R, y1: gy, x2: X + R, y2: gy}));
    var unit = 2 * R / 78;  // degrees per pixel of the close-up
    it.events.forEach(function (o) {
      if (o === e || o.latitude == null || o.longitude == null) return;
      zoom.appendChild(s('circle', {class: 'other', cx: o.longitude + 180, cy: 90 - o.latitude, r: 2.2 * unit}));
    });
    zoom.appendChild(s('circle', {class: 'pt', cx: X, cy: Y, r: 3.5 * unit}));
    svg.appendChild(zoom);
    svg.appendChild(s('rect', {class: 'frame', x: 170, y: 2, width: 78, height: 78}));
    svg.appendChild(s('text', {x: 170, y: 90, text: '\u00b1' + R + '\u00b0, grid ' + step + '\u00b0'}));
    return svg;
  }
  function rulesList(e) {
    var rules = e.rules || [];
    if (!rules.length) return h('p', {class: 'muted', text: 'No code rule changed this event: the fields are the model\u2019s answer.'});
    return h('ul', null, rules.map(function (r) {
      return h('li', null, h('b', {text: r}), D.rules[r] ? ': ' + D.rules[r] : '');
    }));
  }
  function uniqueBlock(it, e) {
    var u = e.unique;
    if (!u) return h('p', {class: 'muted', text: 'Not merged into a unique event.'});
    var others = (u.members || []).filter(function (m) { return m.event_id !== e.event_id; });
    var head = h('div', {class: 'muted', text: 'unique event ' + short(u.unique_event_id) + ': ' + fmt(u.n_articles) + ' articles, ' +
      fmt(u.n_events) + ' events, fatalities ' + fmt(u.fatalities) + (u.fatalities_rule ? ' (' + u.fatalities_rule + ')' : '')});
    if (!others.length) return h('div', null, head, h('p', {class: 'muted', text: 'No other article reports it.'}));
    return h('div', {class: 'unique'}, head, h('ul', null, others.map(function (m) {
      var target = findItem(m.article_id, null);
      var label = (m.file_name || m.article_id) + (m.link_score != null ? ' (link ' + num(m.link_score, 2) + ')' : '');
      if (!target) return h('li', {text: label + ' \u2013 not on this page'});
      return h('li', null, h('button', {type: 'button', class: 'fixbtn', text: label,
        onclick: function (ev) { ev.stopPropagation(); go(target, m.event_id); }}));
    })));
  }
  function decisionHistory(e) {
    var ds = decisionsOf(e.event_id);
    if (!ds.length) return null;
    return h('div', {class: 'history'}, h('h4', {text: 'Decisions'}), h('ul', null, ds.map(function (d) {
      return h('li', {text: (d.decided_at || '').replace('T', ' ').slice(0, 19) + ' ' + d.verdict +
        (d.field ? ' ' + d.field + ' = ' + fmt(d.value) : '') + (d.reviewer ? ' by ' + d.reviewer : '') +
        (d.stored ? ' (stored)' : ' (not downloaded yet)')});
    })));
  }
  function refreshListEntry(it) {
    var li = document.querySelector('#article-list li[data-key="' + it.key + '"]');
    if (li) li.replaceWith(listEntry(it));
  }

  // ------------------------------------------------------------------ navigation
  function findItem(id, run) {
    if (!id) return null;
    for (var k = 0; k < items.length; k++) {
      var it = items[k];
      if ((it.article_id === id || it.file_name === id) && (!run || String(it.run_id).indexOf(run) === 0)) return it;
    }
    return null;
  }
  function setHash(it, eventId) {
    var hash = '#article=' + encodeURIComponent(it.article_id || it.file_name) + '&run=' + encodeURIComponent(short(it.run_id)) +
      (eventId ? '&event=' + encodeURIComponent(eventId) : '');
    if (location.hash !== hash) history_.replaceState(null, '', hash);
  }
  var history_ = window.history;
  function go(it, eventId) {
    var prev = state.item;
    state.item = it;
    state.active = null;
    if (eventId) it.events.forEach(function (e, i) { if (e.event_id === eventId) state.active = i; });
    setHash(it, eventId);
    renderArticle();
    if (prev && prev !== it) refreshListEntry(prev);
    refreshListEntry(it);
  }
  function fromHash() {
    var params = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var at = kv.indexOf('=');
      if (at > 0) {
        try { params[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1)); } catch (e) { /* a malformed link: ignored */ }
      }
    });
    var it = findItem(params.article, params.run) || findItem(params.article, null);
    if (it && it !== state.item) go(it, params.event || null);
    else if (it && params.event) it.events.forEach(function (e, i) { if (e.event_id === params.event) activate(i, 'text'); });
  }

  // ------------------------------------------------------------------ download
  function download() {
    var doc = {format: 'conflict-events-decisions/1', page_id: D.page_id, db: D.db, page_generated_at: D.generated_at,
      exported_at: new Date().toISOString(), decisions: decisions};
    var blob = new Blob([JSON.stringify(doc, null, 1)], {type: 'application/json'});
    var url = URL.createObjectURL(blob);
    var a = h('a', {href: url, download: 'decisions.json', style: 'display:none'});
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  // ------------------------------------------------------------------ start
  $('reviewer').value = loadStored('conflict-events-reviewer', '') || '';
  $('reviewer').addEventListener('change', function () { saveStored('conflict-events-reviewer', $('reviewer').value.trim()); });
  $('download').addEventListener('click', download);
  renderHeader();
  setupFilters();
  updateCount();
  applyFilters();
  window.addEventListener('hashchange', fromHash);
  if (location.hash) fromHash();
  else if (items.length) go(state.filtered[0] || items[0], null);
  document.body.setAttribute('data-ready', '1');
})();
