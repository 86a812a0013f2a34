/* report.js - draws the pipefault report from the run data embedded in the page.
 *
 * The data (results.json with each scenario's trace events attached) is
 * untrusted text: scenario names, paths and server stderr come from whoever
 * wrote the scenario and the server. So every piece of it reaches the DOM as
 * a text node or an attribute value (textContent, setAttribute,
 * createElementNS); nothing here ever parses data as HTML.
 *
 * A run can hold hundreds of scenarios with thousands of events, so the page
 * draws the overview and one collapsed shell per scenario at once, and each
 * scenario's body (timeline, lineage, histograms) only when it is opened and
 * scrolled into view. When the first screen is drawn the page sets
 * data-rendered on <html> (and data-render-ms, the time it took), which is
 * what tests and the scale benchmark wait for.
 */
(function () {
  'use strict';

  var SVGNS = 'http://www.w3.org/2000/svg';

  /* ---------- DOM helpers: text only ---------- */

  function append(parent, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(parent, x); }); return; }
    if (typeof c === 'object' && c.nodeType) { parent.appendChild(c); return; }
    parent.appendChild(document.createTextNode(String(c)));
  }

  /* h('div', {class: 'x', text: 'y', onclick: f}, child...) */
  function h(tag, props) {
    var e = document.createElement(tag);
    setProps(e, props);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function svg(tag, props) {
    var e = document.createElementNS(SVGNS, tag);
    setProps(e, props);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function setProps(e, props) {
    if (!props) return;
    Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') e.textContent = String(v);
      else if (k.slice(0, 2) === 'on' && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    });
  }

  function str(v) { return v === null || v === undefined ? '' : String(v); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : null; }

  /* ---------- time formatting ---------- */

  var UNITS = [[1, 'ns'], [1e3, '\u00b5s'], [1e6, 'ms'], [1e9, 's']];

  function sig(x) { return String(Number(x.toPrecision(4))); }

  function fmtDur(ns) {
    if (num(ns) === null) return '\u2014';
    var a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + ' ns';
    if (a < 1e6) return sig(ns / 1e3) + ' \u00b5s';
    if (a < 1e9) return sig(ns / 1e6) + ' ms';
    return sig(ns / 1e9) + ' s';
  }

  function fmtT(ns) { return num(ns) === null ? '\u2014' : 't=' + fmtDur(ns); }

  /* Accepts "1.5ms", "200us", "200µs", "3s", "40ns" or a bare number (ms). */
  function parseDur(text) {
    var m = /^\s*(-?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(ns|us|\u00b5s|ms|s)?\s*$/i.exec(text);
    if (!m) return null;
    var mult = { ns: 1, us: 1e3, '\u00b5s': 1e3, ms: 1e6, s: 1e9 }[(m[2] || 'ms').toLowerCase()];
    return parseFloat(m[1]) * mult;
  }

  function niceStep(span, n) {
    var raw = Math.max(span / Math.max(n, 1), 1);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  /* The unit follows the size of the times shown ("3.05 µs", "0.2 ms",
   * "1.5 s"), with as many decimals as the tick step needs; deep zooms far
   * from zero fall back to the unit of the step. */
  function tickFormat(step, vmax) {
    function unitFor(x) { return x < 1e3 ? 0 : x < 1e6 ? 1 : x < 1e9 ? 2 : 3; }
    function decimals(u) { return Math.max(0, Math.ceil(-Math.log10(step / UNITS[u][0]) - 1e-9)); }
    var u = unitFor(Math.max(vmax, step));
    if (decimals(u) > 9) u = unitFor(step);
    var dec = Math.min(decimals(u), 9);
    return function (v) {
      var s = (v / UNITS[u][0]).toFixed(dec);
      return (/^-0\.?0*$/.test(s) ? s.slice(1) : s) + ' ' + UNITS[u][1];
    };
  }

  /* ---------- permissions ---------- */

  function permLines(p) {
    p = obj(p);
    if (!p) return ['(not recorded)'];
    if (p.none) return ['no permissions at all (abstract socket: no inode)'];
    var out = [];
    if (p.sddl !== undefined) {
      out.push('SDDL ' + str(p.sddl));
      if (p.normalised !== undefined && p.normalised !== p.sddl) out.push('normalised ' + str(p.normalised));
      if (p.owner !== undefined) out.push('owner ' + str(p.owner));
      return out;
    }
    if (p.mode !== undefined) out.push('mode ' + str(p.mode));
    if (p.owner !== undefined || p.uid !== undefined)
      out.push('owner ' + str(p.owner) + (p.uid !== undefined ? ' (uid ' + str(p.uid) + ')' : ''));
    if (p.group !== undefined || p.gid !== undefined)
      out.push('group ' + str(p.group) + (p.gid !== undefined ? ' (gid ' + str(p.gid) + ')' : ''));
    if (p.acl === null) out.push('no extended ACL entries');
    else if (Array.isArray(p.acl)) out.push('ACL ' + p.acl.join(', '));
    else if (p.acl !== undefined) out.push('ACL ' + str(p.acl).split(',').join(', '));
    Object.keys(p).forEach(function (k) {
      if (Array.isArray(p[k]) && !p[k].length) return;
      if (['mode', 'owner', 'uid', 'group', 'gid', 'acl'].indexOf(k) < 0)
        out.push(k + ' ' + (typeof p[k] === 'object' ? JSON.stringify(p[k]) : str(p[k])));
    });
    return out.length ? out : [JSON.stringify(p)];
  }

  function permShort(p) {
    p = obj(p);
    if (!p) return '?';
    if (p.none) return 'none';
    if (p.sddl !== undefined) return str(p.normalised || p.sddl);
    var who = p.owner !== undefined || p.group !== undefined ? ' ' + str(p.owner) + ':' + str(p.group) : '';
    return str(p.mode) + who + (p.acl ? ' +acl' : '');
  }

  function classOf(c) {
    return c === 'intended' || c === 'default' || c === 'other' ? c : 'unknown';
  }

  function classBadge(c) { return h('span', { class: 'pf-class c-' + classOf(c), text: c || 'unknown' }); }

  /* ---------- attempt outcomes ---------- */

  var DENIED = ['EACCES', 'EPERM', 'ERROR_ACCESS_DENIED', 'errno:13', 'errno:1'];
  var ABSENT = ['ECONNREFUSED', 'ENOENT', 'ENXIO', 'ERROR_PIPE_BUSY', 'ERROR_FILE_NOT_FOUND',
                'ERROR_PIPE_NOT_CONNECTED', 'ERROR_SEM_TIMEOUT'];

  function outcomeClass(o) {
    if (o === 'ok') return 'ok';
    if (DENIED.indexOf(o) >= 0) return 'denied';
    if (ABSENT.indexOf(o) >= 0) return 'absent';
    return 'err';
  }

  var COLORS = {
    intended: '#2b9348', default: '#d9480f', other: '#7048e8', unknown: '#98a2ad',
    ok: '#1c7ed6', denied: '#c92a2a', absent: '#adb5bd', err: '#f08c00',
    fault: '#ae3ec9', hold: '#f59f00', syscall: '#495057', attacker: '#e64980'
  };

  /* An admitted attempt served by an attacker (served_by "attacker:NAME"). */
  function servedByAttacker(a) { return typeof a.served_by === 'string' && a.served_by.indexOf('attacker:') === 0; }

  /* ---------- the model of one scenario, built from results + trace ---------- */

  function buildModel(sc) {
    var events = arr(sc.events).filter(function (e) { return obj(e) && num(e.t) !== null; });
    events = events.slice().sort(function (a, b) { return a.t - b.t; });
    var m = {
      sc: sc, events: events, instances: [], byId: {}, servers: [], serverPids: {},
      clients: [], clientByName: {}, accounts: [], allowed: {}, faults: [], holds: [],
      syscalls: [], attempts: [], accountsEv: [], platformEv: null, endEv: null, tEnd: 0
    };
    function inst(id) {
      var k = String(id);
      if (!m.byId[k]) {
        m.byId[k] = { id: id, history: [], permEvs: [], res: null };
        m.instances.push(m.byId[k]);
      }
      return m.byId[k];
    }
    function seeT(t) { if (num(t) !== null && t > m.tEnd) m.tEnd = t; }

    arr(sc.clients).forEach(function (c) {
      if (!obj(c) || c.account === undefined) return;
      m.allowed[str(c.account)] = c.allowed;
      if (m.accounts.indexOf(str(c.account)) < 0) m.accounts.push(str(c.account));
    });
    arr(sc.instances).forEach(function (r) {
      if (!obj(r) || r.id === undefined || r.id === null) return;
      var i = inst(r.id);
      i.res = r;
      i.endpoint = r.endpoint; i.key = r.key;
      i.born = num(r.born_ns); i.removed = num(r.removed_ns); i.accepting = num(r.accepting_ns);
      i.birthPerm = r.birth; i.birthClass = r.birth_class; i.birthEvidence = r.birth_evidence;
      i.classAtAccept = r.class_at_first_accept; i.admitted = obj(r.admitted);
      i.lineage = obj(r.lineage);
      i.history = arr(r.history).filter(function (x) { return obj(x) && num(x.t_ns) !== null; })
        .slice().sort(function (a, b) { return a.t_ns - b.t_ns; });
      seeT(i.born); seeT(i.removed);
    });

    events.forEach(function (e) {
      seeT(e.t); seeT(num(e.t_end));
      var i;
      switch (e.ev) {
      case 'platform': m.platformEv = e; break;
      case 'account':
        m.accountsEv.push(e);
        if (e.name !== undefined) {
          if (!(str(e.name) in m.allowed)) m.allowed[str(e.name)] = e.allowed;
          if (m.accounts.indexOf(str(e.name)) < 0) m.accounts.push(str(e.name));
        }
        break;
      case 'server_start':
        m.servers.push({ pid: e.pid, start: e.t, ev: e, exit: null, exitEv: null });
        m.serverPids[str(e.pid)] = true;
        break;
      case 'server_exit':
        for (var s = m.servers.length - 1; s >= 0; s--) {
          if (m.servers[s].pid === e.pid && !m.servers[s].exitEv) { m.servers[s].exit = e.t; m.servers[s].exitEv = e; break; }
        }
        break;
      case 'instance_birth':
        if (e.id === undefined || e.id === null) break;
        i = inst(e.id); i.birthEv = e;
        if (i.born === undefined || i.born === null) i.born = e.t;
        if (i.endpoint === undefined) i.endpoint = e.endpoint;
        if (i.key === undefined) i.key = e.key;
        if (i.birthPerm === undefined) i.birthPerm = e.perm;
        if (i.birthEvidence === undefined) i.birthEvidence = e.evidence;
        break;
      case 'instance_perm':
        if (e.id !== undefined && e.id !== null) inst(e.id).permEvs.push(e);
        break;
      case 'instance_accepting':
        if (e.id === undefined || e.id === null) break;
        i = inst(e.id);
        if (i.accepting === undefined || i.accepting === null) i.accepting = e.t;
        break;
      case 'instance_removed':
        if (e.id === undefined || e.id === null) break;
        i = inst(e.id);
        if (i.removed === undefined || i.removed === null) i.removed = e.t;
        break;
      case 'attempt': m.attempts.push(e); break;
      case 'fault': m.faults.push(e); break;
      case 'syscall': m.syscalls.push(e); break;
      case 'scenario_end': m.endEv = e; break;
      }
    });
    if (m.tEnd <= 0) m.tEnd = (num(sc.duration_ms) || 1) * 1e6;

    m.instances.sort(function (a, b) { return (num(a.born) || 0) - (num(b.born) || 0) || (a.id > b.id ? 1 : -1); });
    m.instances.forEach(function (i) { i.segments = segmentsOf(i, m.tEnd); });

    /* Clients: one lane per client process, grouped by account. */
    m.attempts.forEach(function (a) {
      var name = a.client !== undefined ? str(a.client) : str(a.account) + ' pid ' + str(a.pid);
      var c = m.clientByName[name];
      if (!c) {
        c = { name: name, account: str(a.account), pids: {}, attempts: [] };
        m.clientByName[name] = c; m.clients.push(c);
        if (m.accounts.indexOf(c.account) < 0) m.accounts.push(c.account);
      }
      c.pids[str(a.pid)] = true;
      c.attempts.push(a);
    });

    /* Holds: a span from `held` to the matching `released` / `timed-out`. */
    var open = {};
    m.faults.forEach(function (f) {
      var k = str(f.pid) + '/' + str(f.tid) + '/' + str(f.rule);
      if (f.decision === 'held') {
        var hold = { start: f.t, end: null, startEv: f, endEv: null, pid: f.pid };
        (open[k] = open[k] || []).push(hold);
        m.holds.push(hold);
      } else if (f.decision === 'released' || f.decision === 'timed-out') {
        var q = open[k];
        if (!q || !q.length) {
          /* Released on another thread than it was held on: match by pid and rule. */
          var alt = Object.keys(open).filter(function (ok) {
            return open[ok].length && open[ok][0].startEv.pid === f.pid && open[ok][0].startEv.rule === f.rule;
          });
          q = alt.length ? open[alt[0]] : null;
        }
        if (q && q.length) { var hd = q.shift(); hd.end = f.t; hd.endEv = f; }
        else m.holds.push({ start: f.t, end: f.t, startEv: null, endEv: f, pid: f.pid });
      }
    });
    return m;
  }

  /* An instance's life as segments of one permission class each. */
  function segmentsOf(i, tEnd) {
    var born = num(i.born), end = num(i.removed) !== null ? i.removed : tEnd;
    var segs = [];
    if (born === null) return segs;
    var hist = i.history;
    if (!hist.length) {
      hist = [{ t_ns: born, class: i.birthClass, perm: i.birthPerm, evidence: i.birthEvidence }];
      i.permEvs.forEach(function (e) { hist.push({ t_ns: e.t, class: undefined, perm: e.perm, evidence: e.evidence }); });
    } else if (hist[0].t_ns > born) {
      hist = [{ t_ns: born, class: i.birthClass, perm: i.birthPerm, evidence: i.birthEvidence }].concat(hist);
    }
    for (var k = 0; k < hist.length; k++) {
      var s = Math.max(hist[k].t_ns, born);
      var e = k + 1 < hist.length ? Math.max(hist[k + 1].t_ns, s) : Math.max(end, s);
      segs.push({ start: s, end: e, cls: classOf(hist[k].class), entry: hist[k], index: k });
    }
    return segs;
  }

  /* ---------- overview ---------- */

  var VERDICTS = ['pass', 'fail', 'error', 'inconclusive', 'skipped'];

  function verdictBadge(v) {
    var c = VERDICTS.indexOf(v) >= 0 ? v : 'unknown';
    return h('span', { class: 'pf-verdict v-' + c, text: v || 'unknown' });
  }

  /* What went wrong, in the words of the checker. */
  function whatFailed(sc) {
    var out = [];
    arr(sc.expectations).forEach(function (x) {
      if (!obj(x)) return;
      if (x.held === false) out.push(str(x.detail || x.text || x.id));
    });
    /* Inconclusive: the checker's reason says what the run did not show. */
    if (sc.verdict === 'inconclusive' && sc.reason) out.unshift('inconclusive: ' + str(sc.reason));
    if (!out.length && sc.verdict !== 'pass' && sc.reason) out.push(str(sc.reason));
    return out;
  }

  function renderOverview(data, main, state) {
    var run = obj(data.run) || {};
    var host = obj(run.host) || {};
    var scs = state.scenarios;
    var counts = { pass: 0, fail: 0, error: 0, inconclusive: 0, skipped: 0 };
    scs.forEach(function (sc) { if (sc.verdict in counts) counts[sc.verdict]++; });
    var summary = obj(data.summary);
    if (summary) VERDICTS.forEach(function (v) { if (num(summary[v]) !== null) counts[v] = summary[v]; });

    var sec = h('section', { id: 'pf-overview', class: 'pf-overview' });
    sec.appendChild(h('h2', { text: 'Suite overview' }));

    var chips = h('div', { class: 'pf-counts', id: 'pf-counts' });
    VERDICTS.forEach(function (v) {
      chips.appendChild(h('button', {
        class: 'pf-count', 'data-verdict': v, 'aria-pressed': 'false',
        title: 'show only ' + v + ' scenarios',
        onclick: function () { toggleFilter(state, v); }
      }, h('b', { text: counts[v] }), h('span', { class: 'pf-verdict v-' + v, text: v })));
    });
    /* Any other count the run reports (e.g. scenarios not run after Ctrl-C). */
    if (summary) Object.keys(summary).forEach(function (k) {
      if (VERDICTS.indexOf(k) >= 0 || !num(summary[k])) return;
      chips.appendChild(h('span', { class: 'pf-count', 'data-verdict': k },
        h('b', { text: summary[k] }), h('span', { class: 'pf-verdict v-unknown', text: k.replace(/_/g, ' ') })));
    });
    sec.appendChild(chips);

    var facts = h('dl', { class: 'pf-facts' });
    function fact(k, v) { if (v === undefined || v === null || v === '') return; facts.appendChild(h('dt', { text: k })); facts.appendChild(h('dd', null, v)); }
    fact('run', str(run.id));
    fact('started', str(run.started));
    fact('seed', run.seed !== undefined ? str(run.seed) : '');
    fact('tool', str(data.tool));
    fact('host', [host.os, host.release].filter(function (x) { return x; }).map(str).join(' ') +
      (host.wine ? ' \u00b7 wine ' + str(host.wine) : ''));
    fact('scenarios', String(scs.length));
    if (run.complete === false) fact('complete', 'no: the run was interrupted before every scenario ran');
    fact('report made', str(data.report_generated));
    sec.appendChild(facts);

    /* The platforms the scenarios ran on, as measured for this run. */
    var plats = {}, platRows = [];
    scs.forEach(function (sc) {
      var pf = obj(sc.platform_facts);
      if (!pf) return;
      var row = [str(sc.platform), str(pf.os), str(pf.version || ''), pf.single_account === undefined ? '' : str(pf.single_account),
        str(pf.umask || ''), permLines(pf.default).join('; ')];
      var k = JSON.stringify(row);
      if (plats[k]) { plats[k][6]++; return; }
      plats[k] = row.concat([1]);
      platRows.push(plats[k]);
    });
    if (platRows.length) {
      var pt = h('table', { class: 'pf-platforms' }, h('tr', null, ['platform', 'os', 'version', 'single account', 'umask',
        'default permissions (measured)', 'scenarios'].map(function (c) { return h('th', { text: c }); })));
      platRows.forEach(function (r) { pt.appendChild(h('tr', null, r.map(function (v) { return h('td', { text: str(v) }); }))); });
      sec.appendChild(h('h3', { text: 'Platform facts' }));
      sec.appendChild(pt);
    }

    if (run.command !== undefined) {
      var cmd = Array.isArray(run.command) ? run.command.join(' ') : str(run.command);
      var pre = h('pre', { class: 'pf-cmd', id: 'pf-command', text: cmd });
      var btn = h('button', { text: 'copy', title: 'copy the command that reproduces this run' });
      btn.addEventListener('click', function () {
        var done = function () { btn.textContent = 'copied'; };
        try {
          if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(cmd).then(done, function () {}); return; }
        } catch (e) { /* fall through to the selection */ }
        var r = document.createRange(); r.selectNodeContents(pre);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
      });
      sec.appendChild(h('h3', { text: 'Reproduce this run' }));
      sec.appendChild(h('div', { class: 'pf-command' }, pre, btn));
    }

    sec.appendChild(h('h3', { text: 'Scenarios' }));
    var table = h('table', { class: 'pf-overview-table', id: 'pf-overview-table' });
    table.appendChild(h('thead', null, h('tr', null,
      h('th', { text: 'verdict' }), h('th', { text: 'scenario' }), h('th', { text: 'platform' }),
      h('th', { text: 'what failed' }), h('th', { text: 'time' }))));
    var tbody = h('tbody');
    scs.forEach(function (sc, idx) {
      var what = whatFailed(sc);
      var tr = h('tr', { 'data-verdict': str(sc.verdict), 'data-index': idx },
        h('td', null, verdictBadge(sc.verdict)),
        h('td', null, h('a', { href: '#' + sectionId(sc), text: str(sc.name) })),
        h('td', { text: str(sc.platform) }),
        h('td', { class: 'pf-what' }, what.length === 1 ? what[0] :
          what.length ? h('ul', null, what.map(function (w) { return h('li', { text: w }); })) : ''),
        h('td', { text: num(sc.duration_ms) !== null ? fmtDur(sc.duration_ms * 1e6) : '' }));
      state.rows.push(tr);
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    sec.appendChild(table);
    main.appendChild(sec);
  }

  function toggleFilter(state, v) {
    state.filter = state.filter === v ? null : v;
    document.querySelectorAll('#pf-counts button').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-verdict') === state.filter));
    });
    function show(node, verdict) { node.hidden = !!state.filter && verdict !== state.filter; }
    state.rows.forEach(function (tr) { show(tr, tr.getAttribute('data-verdict')); });
    state.sections.forEach(function (s) { show(s.el, str(s.sc.verdict)); });
  }

  function sectionId(sc) { return 'scenario-' + str(sc.name); }

  /* ---------- scenario sections ---------- */

  function renderShell(sc, idx, state) {
    var el = h('section', { class: 'pf-scenario', id: sectionId(sc), 'data-verdict': str(sc.verdict),
      'data-events': arr(sc.events).length });
    var det = h('details');
    /* Failing scenarios start open: they are what a reader came for. */
    if (sc.verdict === 'fail' || sc.verdict === 'error' || sc.verdict === 'inconclusive') det.open = true;
    var summ = h('summary', null, verdictBadge(sc.verdict), h('span', { class: 'pf-name', text: str(sc.name) }),
      h('span', { class: 'pf-muted', text: str(sc.reason) }));
    var body = h('div', { class: 'pf-body' });
    det.appendChild(summ);
    det.appendChild(body);
    el.appendChild(det);
    var s = { sc: sc, el: el, details: det, body: body, drawn: false, idx: idx };
    det.addEventListener('toggle', function () { if (det.open) drawBody(s); });
    state.sections.push(s);
    return el;
  }

  function drawBody(s) {
    if (s.drawn) return;
    s.drawn = true;
    try {
      renderBody(s);
    } catch (e) {
      s.body.appendChild(h('p', { class: 'pf-warn', text: 'This section could not be drawn: ' + e }));
      console.error('pipefault report: scenario ' + str(s.sc.name) + ': ' + (e && e.stack || e));
    }
  }

  function renderBody(s) {
    var sc = s.sc, body = s.body, m = buildModel(sc);
    s.model = m;
    var facts = h('dl', { class: 'pf-facts' });
    function fact(k, v) { if (v === undefined || v === null || v === '') return; facts.appendChild(h('dt', { text: k })); facts.appendChild(h('dd', null, v)); }
    fact('description', str(sc.description));
    fact('file', str(sc.file));
    fact('platform', str(sc.platform));
    fact('verdict', [verdictBadge(sc.verdict), ' ', str(sc.reason)]);
    fact('duration', num(sc.duration_ms) !== null ? fmtDur(sc.duration_ms * 1e6) : '');
    if (m.endEv) fact('ended because', str(m.endEv.reason));
    body.appendChild(facts);

    arr(sc.report_notes).forEach(function (n) { body.appendChild(h('p', { class: 'pf-warn', text: str(n) })); });

    var ex = arr(sc.expectations);
    if (ex.length) {
      body.appendChild(h('h3', { text: 'Expectations' }));
      var ul = h('ul', { class: 'pf-expect' });
      ex.forEach(function (x) {
        if (!obj(x)) return;
        var vac = x.status === 'vacuous';
        var cls = x.held === true ? 'held' : x.held === false ? 'broken' : vac ? 'vacuous' : 'unjudged';
        ul.appendChild(h('li', { class: cls, 'data-held': str(x.held), 'data-status': str(x.status) },
          h('span', { text: str(x.text || x.id) + (vac ? ' (vacuous: the run did not show it)' :
            x.held === null || x.held === undefined ? ' (not judged here)' : '') }),
          x.detail ? h('span', { class: 'pf-detail-text', text: str(x.detail) }) : null));
      });
      body.appendChild(ul);
    }

    var warns = arr(sc.warnings).filter(obj);
    if (warns.length) {
      body.appendChild(h('h3', { text: 'Warnings' }));
      body.appendChild(h('ul', { class: 'pf-warnings' }, warns.map(function (w) {
        return h('li', { class: 'pf-warn', 'data-kind': str(w.kind), text: str(w.text) });
      })));
    }
    var foreign = arr(sc.foreign_instances).filter(obj);
    if (foreign.length) {
      body.appendChild(h('p', { class: 'pf-warn', text: 'Instances under another name (not the endpoint, not judged): ' +
        foreign.map(function (f) { return '#' + str(f.id) + ' ' + str(f.endpoint); }).join(', ') }));
    }

    body.appendChild(h('h3', { text: 'Timeline' }));
    renderTimeline(m, body);
    body.appendChild(h('h3', { text: 'Instance lineage' }));
    body.appendChild(renderLineage(m, s));
    body.appendChild(h('h3', { text: 'Exposure windows' }));
    body.appendChild(renderExposure(m));
    body.appendChild(h('h3', { text: 'Platform, accounts and server' }));
    body.appendChild(renderFacts(m));
  }

  /* ---------- timeline ---------- */

  var LABEL_W = 170, AXIS_H = 24, ROW_H = 16, GROUP_H = 18, PAD_R = 12;

  function lanesOf(m) {
    var rows = [];
    /* Server: instance bars (stacked when instances overlap), then its
     * syscalls, faults and holds. */
    /* The server's pids: from server_start, and those its intercepted syscalls
     * came from (on win32 the agent reports the Windows pid). */
    var serverPids = m.servers.map(function (s) { return str(s.pid); });
    m.syscalls.forEach(function (e) {
      var p = str(e.pid);
      if (p && serverPids.indexOf(p) < 0) { serverPids.push(p); m.serverPids[p] = true; }
    });
    var title = 'server' + (serverPids.length ? ' (pid ' + serverPids.join(', ') + ')' : '');
    rows.push({ group: title });
    var stacks = [];
    m.instances.forEach(function (i) {
      if (num(i.born) === null) return;
      var end = num(i.removed) !== null ? i.removed : m.tEnd;
      var k = 0;
      while (k < stacks.length && stacks[k] > i.born) k++;
      stacks[k] = end;
      i.stack = k;
    });
    var nStacks = Math.max(stacks.length, 1);
    for (var k = 0; k < nStacks; k++) rows.push({ label: k === 0 ? 'instances' : '', kind: 'instances', stack: k });
    rows.push({ label: 'syscalls, faults', kind: 'server' });

    var byPid = {};
    m.clients.forEach(function (c) { Object.keys(c.pids).forEach(function (p) { byPid[p] = c; }); });
    m.accounts.forEach(function (acc) {
      var cs = m.clients.filter(function (c) { return c.account === acc; });
      if (!cs.length) return;
      var allowed = m.allowed[acc];
      rows.push({ group: 'account ' + acc + (allowed === true ? ' (allowed)' : allowed === false ? ' (not allowed)' : '') });
      cs.forEach(function (c) {
        var pids = Object.keys(c.pids).filter(function (p) { return p !== ''; });
        rows.push({ label: c.name + (pids.length ? ' pid ' + pids.join(',') : ''), kind: 'client', client: c });
      });
    });
    /* Faults and holds go to the lane of the process they were injected into. */
    var other = [];
    function placeFault(item, pid) {
      var p = str(pid);
      if (byPid[p]) return byPid[p];
      if (m.serverPids[p] || !m.servers.length) return 'server';
      other.push(item);
      return 'other';
    }
    m.faultPlace = m.faults.map(function (f) { return placeFault(f, f.pid); });
    m.holdPlace = m.holds.map(function (hd) { return placeFault(hd, hd.pid); });
    if (other.length) {
      rows.push({ group: 'other processes' });
      rows.push({ label: 'faults', kind: 'other' });
    }
    var y = AXIS_H;
    rows.forEach(function (r) { r.y = y; y += r.group ? GROUP_H : ROW_H; });
    return { rows: rows, height: y + 6 };
  }

  /* Appends the timeline to parent (which is in the document, so the plot
   * can take its width) and draws it. */
  function renderTimeline(m, parent) {
    var wrap = h('div', { class: 'pf-timeline' });
    var st = { m: m, marks: [], selected: null, layout: lanesOf(m) };
    /* Start on the part where things happen: accounts and setup can take
     * far longer than the race itself. `all` shows from the start. */
    var first = activeStart(m), span = Math.max(m.tEnd - first, 1);
    st.full = [Math.max(0, first - span * 0.03), m.tEnd + span * 0.03];
    st.all = [0, m.tEnd * 1.02 || 1];
    st.v0 = st.full[0]; st.v1 = st.full[1];

    var from = h('input', { type: 'text', 'aria-label': 'from', title: 'start of the shown window, e.g. 1.5ms, 200us, 2s' });
    var to = h('input', { type: 'text', 'aria-label': 'to', title: 'end of the shown window' });
    function zoom(f, center) {
      var c = center === undefined ? (st.v0 + st.v1) / 2 : center;
      setView(c - (c - st.v0) * f, c + (st.v1 - c) * f);
    }
    function pan(f) { var d = (st.v1 - st.v0) * f; setView(st.v0 + d, st.v1 + d); }
    function setView(a, b) {
      if (!(b > a)) return;
      if (b - a < 10) { var c = (a + b) / 2; a = c - 5; b = c + 5; }
      st.v0 = a; st.v1 = b;
      draw();
    }
    st.setView = setView;
    /* The lineage boxes point into the timeline: select an instance's bar. */
    m.selectInstance = function (id) {
      var key = 'i' + str(id) + '/0';
      var find = function () { for (var k = 0; k < st.marks.length; k++) if (st.marks[k].key === key) return k; return -1; };
      var k = find();
      if (k < 0) { setView(st.full[0], st.full[1]); k = find(); }
      if (k >= 0) { select(st, k); wrap.scrollIntoView({ block: 'nearest' }); }
    };
    var toolbar = h('div', { class: 'pf-toolbar' },
      h('button', { text: '+', title: 'zoom in', class: 'pf-zoomin', onclick: function () { zoom(0.5); } }),
      h('button', { text: '\u2212', title: 'zoom out', class: 'pf-zoomout', onclick: function () { zoom(2); } }),
      h('button', { text: '\u25c0', title: 'earlier', onclick: function () { pan(-0.4); } }),
      h('button', { text: '\u25b6', title: 'later', onclick: function () { pan(0.4); } }),
      h('button', { text: 'fit', title: 'show from the server start to the end', class: 'pf-fit', onclick: function () { setView(st.full[0], st.full[1]); } }),
      h('button', { text: 'all', title: 'show the whole scenario, setup included', onclick: function () { setView(st.all[0], st.all[1]); } }),
      h('span', { class: 'pf-muted', text: 'window' }), from, h('span', { text: 'to' }), to,
      h('button', { text: 'show', onclick: function () {
        var a = parseDur(from.value), b = parseDur(to.value);
        if (a !== null && b !== null) setView(a, b);
      } }),
      h('span', { class: 'pf-muted', text: 'drag across the plot to zoom to a range; Ctrl+wheel zooms; arrow keys step through marks' }));
    [from, to].forEach(function (inp) {
      inp.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter') { var a = parseDur(from.value), b = parseDur(to.value); if (a !== null && b !== null) setView(a, b); }
      });
    });
    wrap.appendChild(toolbar);
    wrap.appendChild(legend());
    var svgEl = svg('svg', { class: 'pf-tl', height: st.layout.height, role: 'img',
      'aria-label': 'timeline of ' + str(m.sc.name) });
    wrap.appendChild(svgEl);
    var panel = h('div', { class: 'pf-detailpanel' }, h('span', { class: 'pf-muted', text: 'Click a bar or a mark for its details.' }));
    wrap.appendChild(panel);
    st.svg = svgEl; st.panel = panel;

    function width() { return Math.max(wrap.clientWidth || 0, 640); }
    function xOf(t) { return LABEL_W + (t - st.v0) / (st.v1 - st.v0) * (st.w - LABEL_W - PAD_R); }
    function tOf(x) { return st.v0 + (x - LABEL_W) / (st.w - LABEL_W - PAD_R) * (st.v1 - st.v0); }
    st.xOf = xOf;

    function draw() {
      st.w = width();
      from.value = fmtDur(st.v0).replace(' ', '');
      to.value = fmtDur(st.v1).replace(' ', '');
      drawTimeline(st);
    }

    /* Pointer: hover shows a summary, click pins the details, drag zooms. */
    var drag = null;
    function svgX(ev) { var r = svgEl.getBoundingClientRect(); return ev.clientX - r.left; }
    svgEl.addEventListener('mousedown', function (ev) {
      if (ev.button !== 0) return;
      var x = svgX(ev);
      if (x < LABEL_W) return;
      drag = { x0: x, x1: x, rect: null };
      ev.preventDefault();
    });
    svgEl.addEventListener('mousemove', function (ev) {
      if (drag) {
        drag.x1 = svgX(ev);
        if (Math.abs(drag.x1 - drag.x0) > 3) {
          if (!drag.rect) { drag.rect = svg('rect', { class: 'pf-brush', y: AXIS_H, height: st.layout.height - AXIS_H, fill: '#4dabf7', 'fill-opacity': 0.2 }); svgEl.appendChild(drag.rect); }
          drag.rect.setAttribute('x', Math.min(drag.x0, drag.x1));
          drag.rect.setAttribute('width', Math.abs(drag.x1 - drag.x0));
        }
        return;
      }
      var k = markIndex(ev.target);
      if (k === null) { hideTip(); return; }
      showTip(st.marks[k].tip, ev.clientX, ev.clientY);
    });
    svgEl.addEventListener('mouseleave', hideTip);
    window.addEventListener('mouseup', function (ev) {
      if (!drag) return;
      var d = drag; drag = null;
      if (d.rect) d.rect.remove();
      if (Math.abs(d.x1 - d.x0) > 3) { setView(tOf(Math.min(d.x0, d.x1)), tOf(Math.max(d.x0, d.x1))); return; }
      var k = markIndex(ev.target);
      if (k !== null && svgEl.contains(ev.target)) select(st, k);
    });
    svgEl.addEventListener('click', function (ev) {
      /* Keyboard and synthetic clicks (no mousedown on the plot). */
      var k = markIndex(ev.target);
      if (k !== null && st.selected !== k) select(st, k);
    });
    svgEl.addEventListener('wheel', function (ev) {
      if (!(ev.ctrlKey || ev.metaKey || ev.altKey)) return;
      ev.preventDefault();
      var x = svgX(ev);
      if (x < LABEL_W) return;
      zoom(ev.deltaY > 0 ? 1.25 : 0.8, tOf(x));
    }, { passive: false });
    /* Keyboard: Tab to the plot, then arrows step through the marks in time
     * order, + and - zoom, 0 fits. */
    svgEl.setAttribute('tabindex', '0');
    svgEl.addEventListener('keydown', function (ev) {
      if (ev.key === '+' || ev.key === '=') zoom(0.5);
      else if (ev.key === '-') zoom(2);
      else if (ev.key === '0') setView(st.full[0], st.full[1]);
      else if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
        var order = st.marks.map(function (mk, k) { return [+(mk.el.getAttribute('x') || 0) || bboxX(mk.el), k]; })
          .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
        if (!order.length) return;
        var pos = order.findIndex(function (o) { return o[1] === st.selected; });
        pos = pos < 0 ? 0 : Math.max(0, Math.min(order.length - 1, pos + (ev.key === 'ArrowRight' ? 1 : -1)));
        select(st, order[pos][1]);
      } else return;
      ev.preventDefault();
    });

    parent.appendChild(wrap);
    var lastW = width();
    draw();
    if (window.ResizeObserver) {
      new ResizeObserver(function () { var w = width(); if (w !== lastW) { lastW = w; draw(); } }).observe(wrap);
    }
    return wrap;
  }

  /* The first moment the server, an instance, a client or a fault did anything. */
  function activeStart(m) {
    var t = m.tEnd;
    m.servers.forEach(function (s) { if (num(s.start) !== null) t = Math.min(t, s.start); });
    m.instances.forEach(function (i) { if (num(i.born) !== null) t = Math.min(t, i.born); });
    [m.attempts, m.faults, m.syscalls].forEach(function (list) { if (list.length) t = Math.min(t, list[0].t); });
    return t >= m.tEnd ? 0 : t;
  }

  function bboxX(el) { try { return el.getBBox().x; } catch (e) { return 0; } }

  function markIndex(target) {
    while (target && target.getAttribute) {
      var k = target.getAttribute('data-k');
      if (k !== null) return +k;
      if (target.tagName === 'svg') return null;
      target = target.parentNode;
    }
    return null;
  }

  function legend() {
    var items = [
      [COLORS.intended, 'instance: intended permissions'],
      [COLORS.default, 'instance: platform default'],
      [COLORS.other, 'instance: other permissions'],
      [COLORS.ok, 'attempt: connected'],
      [COLORS.denied, 'attempt: denied'],
      [COLORS.absent, 'attempt: refused / no endpoint'],
      [COLORS.err, 'attempt: other error'],
      [COLORS.attacker, 'attempt: served by an attacker'],
      [COLORS.fault, 'fault injected'],
      [COLORS.hold, 'hold (held \u2192 released)'],
      [COLORS.syscall, 'server syscall']
    ];
    var div = h('div', { class: 'pf-legend' });
    items.forEach(function (it) {
      var swatch = h('span', { class: 'pf-swatch' });
      swatch.style.background = it[0];
      div.appendChild(h('span', null, swatch, it[1]));
    });
    div.appendChild(h('span', { text: 'black outline: a violation (allowed account denied, or a not-allowed account admitted); \u25bc: started accepting' }));
    div.style.padding = '4px 8px';
    return div;
  }

  function drawTimeline(st) {
    var m = st.m, svgEl = st.svg, lay = st.layout, w = st.w, xOf = st.xOf;
    var v0 = st.v0, v1 = st.v1, plotL = LABEL_W, plotR = w - PAD_R;
    while (svgEl.firstChild) svgEl.removeChild(svgEl.firstChild);
    st.marks = [];
    svgEl.setAttribute('width', w);
    svgEl.setAttribute('viewBox', '0 0 ' + w + ' ' + lay.height);
    var clipId = 'pf-clip-' + Math.random().toString(36).slice(2);
    svgEl.appendChild(svg('defs', null, svg('clipPath', { id: clipId },
      svg('rect', { x: plotL, y: 0, width: Math.max(plotR - plotL, 1), height: lay.height }))));

    /* Lane backgrounds and labels. */
    lay.rows.forEach(function (r, i) {
      if (r.group) {
        svgEl.appendChild(svg('text', { x: 4, y: r.y + 13, class: 'pf-grouplabel', text: r.group }));
        svgEl.appendChild(svg('line', { x1: 0, x2: w, y1: r.y + 0.5, y2: r.y + 0.5, stroke: '#d5dbe1' }));
      } else {
        if (i % 2) svgEl.appendChild(svg('rect', { x: plotL, y: r.y, width: plotR - plotL, height: ROW_H, fill: '#f8f9fa' }));
        if (r.label) svgEl.appendChild(svg('text', { x: 12, y: r.y + 12, class: 'pf-lanelabel', text: clip(r.label, 26) }));
      }
    });

    /* Axis. */
    var axis = svg('g', { class: 'pf-axis' });
    var step = niceStep(v1 - v0, Math.max(2, Math.floor((plotR - plotL) / 90)));
    var fmt = tickFormat(step, Math.max(Math.abs(v0), Math.abs(v1)));
    for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      var x = xOf(t);
      axis.appendChild(svg('line', { x1: x, x2: x, y1: AXIS_H - 4, y2: lay.height, stroke: '#e9ecef' }));
      axis.appendChild(svg('text', { x: x + 2, y: AXIS_H - 8, text: fmt(Math.abs(t) < step / 1e6 ? 0 : t) }));
    }
    svgEl.appendChild(axis);

    var g = svg('g', { 'clip-path': 'url(#' + clipId + ')' });
    svgEl.appendChild(g);
    function visible(a, b) { return b >= v0 && a <= v1; }
    function addMark(el, tip, detail, key) {
      var k = st.marks.length;
      st.marks.push({ tip: tip, detail: detail, el: el, key: key });
      if (key === st.selectedKey) el.classList.add('pf-selected');
      el.setAttribute('data-k', k);
      el.setAttribute('class', (el.getAttribute('class') || '') + ' pf-mark');
      g.appendChild(el);
      return el;
    }
    function rowOf(pred) { for (var i = 0; i < lay.rows.length; i++) if (pred(lay.rows[i])) return lay.rows[i]; return null; }

    /* Instance bars: one segment per permission class. */
    m.instances.forEach(function (inst) {
      if (num(inst.born) === null) return;
      var row = rowOf(function (r) { return r.kind === 'instances' && r.stack === inst.stack; });
      if (!row) return;
      inst.segments.forEach(function (seg) {
        if (!visible(seg.start, seg.end)) return;
        var xa = Math.max(xOf(seg.start), plotL - 2), xb = Math.min(xOf(seg.end), plotR + 2);
        var rect = svg('rect', { x: xa, y: row.y + 2, width: Math.max(xb - xa, 2), height: ROW_H - 4,
          fill: COLORS[seg.cls], class: 'pf-inst pf-seg', 'data-class': seg.cls, 'data-instance': str(inst.id),
          rx: 2 });
        addMark(rect, instTip(inst, seg), function () { return instDetail(m, inst, seg); }, 'i' + str(inst.id) + '/' + seg.index);
      });
      /* Each segment says its class where there is room; the first also the id. */
      inst.segments.forEach(function (seg, k) {
        if (!visible(seg.start, seg.end)) return;
        var xa = Math.max(xOf(seg.start), plotL), xb = Math.min(xOf(seg.end), plotR);
        var room = Math.floor((xb - xa - 6) / 6.2);
        var label = (k === 0 ? '#' + str(inst.id) + ' ' : '') + seg.cls;
        if (room < label.length) label = k === 0 ? '#' + str(inst.id) : '';
        if (!label || room < label.length) return;
        g.appendChild(svg('text', { x: xa + 3, y: row.y + 12, class: 'pf-barlabel', 'pointer-events': 'none', text: label }));
      });
      if (num(inst.accepting) !== null && visible(inst.accepting, inst.accepting)) {
        var ax = xOf(inst.accepting);
        var tri = svg('path', { d: 'M' + ax + ' ' + (row.y + 1) + 'l-4 -0 l4 6 l4 -6 z', fill: '#212529', class: 'pf-accepting' });
        addMark(tri, 'instance #' + str(inst.id) + ' started accepting at ' + fmtDur(inst.accepting),
          function () { return instDetail(m, inst, null); }, 'a' + str(inst.id));
      }
      if (num(inst.removed) === null && visible(m.tEnd, m.tEnd)) {
        g.appendChild(svg('text', { x: xOf(m.tEnd) + 2, y: row.y + 12, text: '\u2192', fill: '#5c6670' }));
      }
    });

    /* Server syscalls as ticks. */
    var srow = rowOf(function (r) { return r.kind === 'server'; });
    m.syscalls.forEach(function (e) {
      if (!visible(e.t, e.t)) return;
      var x = xOf(e.t);
      var tick = svg('rect', { x: x - 1, y: srow.y + 3, width: 2, height: ROW_H - 6, fill: COLORS.syscall, class: 'pf-syscall' });
      addMark(tick, 'syscall ' + str(e.name || e.op) + ' (' + str(e.op) + ') at ' + fmtDur(e.t),
        function () { return eventDetail(m, 'syscall ' + str(e.name || e.op), e); }, e);
    });

    function faultRow(place) {
      if (place === 'server') return srow;
      if (place === 'other') return rowOf(function (r) { return r.kind === 'other'; });
      return rowOf(function (r) { return r.kind === 'client' && r.client === place; });
    }
    /* Holds (and delays) as spans, other fault decisions as diamonds. */
    m.holds.forEach(function (hd, i) {
      var row = faultRow(m.holdPlace[i]);
      var end = hd.end !== null ? hd.end : m.tEnd;
      if (!row || !visible(hd.start, end)) return;
      var xa = Math.max(xOf(hd.start), plotL - 2), xb = Math.min(xOf(end), plotR + 2);
      var span = svg('rect', { x: xa, y: row.y + 5, width: Math.max(xb - xa, 3), height: ROW_H - 10,
        fill: COLORS.hold, 'fill-opacity': 0.85, class: 'pf-hold', stroke: hd.endEv && hd.endEv.decision === 'timed-out' ? '#c92a2a' : 'none' });
      addMark(span, holdTip(hd), function () { return holdDetail(m, hd); }, hd);
    });
    m.faults.forEach(function (f, i) {
      if (f.decision === 'held' || f.decision === 'released' || f.decision === 'timed-out') return;
      var row = faultRow(m.faultPlace[i]);
      var dly = num(f.delay_ns) || 0;
      if (!row || !visible(f.t, f.t + dly)) return;
      var x = xOf(f.t), cy = row.y + ROW_H / 2;
      if (f.decision === 'delayed' && dly > 0) {
        var xb = Math.min(xOf(f.t + dly), plotR + 2);
        g.appendChild(svg('rect', { x: Math.max(x, plotL - 2), y: cy - 2, width: Math.max(xb - Math.max(x, plotL - 2), 1), height: 4,
          fill: COLORS.fault, 'fill-opacity': 0.45, 'pointer-events': 'none' }));
      }
      /* A rule that matched but was not due (`skipped`) is drawn hollow and smaller. */
      var skipped = f.decision === 'skipped';
      var r = skipped ? 4 : 6;
      var d = svg('path', { d: 'M' + x + ' ' + (cy - r) + 'l' + r + ' ' + r + ' l-' + r + ' ' + r + ' l-' + r + ' -' + r + ' z',
        fill: skipped ? '#fff' : COLORS.fault, class: 'pf-fault' + (skipped ? ' pf-fault-skipped' : ''),
        stroke: skipped ? COLORS.fault : '#fff', 'stroke-width': skipped ? 1 : 0.5 });
      addMark(d, 'fault rule ' + str(f.rule) + ': ' + str(f.action) + ' ' + str(f.decision) + ' at ' + str(f.op) + ' (' + fmtDur(f.t) + ')',
        function () { return faultDetail(m, f); }, f);
    });

    /* Client attempts: a bar from start to end (or a tick), coloured by outcome. */
    lay.rows.forEach(function (r) {
      if (r.kind !== 'client') return;
      var allowed = m.allowed[r.client.account];
      r.client.attempts.forEach(function (a) {
        var end = num(a.t_end) !== null && a.t_end > a.t ? a.t_end : a.t;
        if (!visible(a.t, end)) return;
        var oc = outcomeClass(a.outcome);
        if (oc === 'ok' && servedByAttacker(a)) oc = 'attacker';
        var bad = (oc === 'ok' && allowed === false) || (oc === 'denied' && allowed === true) || oc === 'attacker';
        var xa = xOf(a.t), xb = xOf(end);
        var rect = svg('rect', { x: xa - (xb - xa < 3 ? 1.5 : 0), y: r.y + 3, width: Math.max(xb - xa, 3), height: ROW_H - 6,
          fill: COLORS[oc], class: 'pf-attempt' + (bad ? ' pf-violation' : ''), 'data-outcome': str(a.outcome),
          'data-client': str(a.client),
          stroke: bad ? '#000' : 'none', 'stroke-width': bad ? 1.5 : 0 });
        addMark(rect, str(a.client) + ' ' + str(a.op) + ' \u2192 ' + str(a.outcome) + ' at ' + fmtDur(a.t) +
          (num(a.instance) !== null ? ' (instance #' + a.instance + ')' : '') +
          (a.served_by ? ', served by ' + str(a.served_by) : '') +
          (a.reply !== undefined && a.reply !== 'none' ? ', reply ' + str(a.reply) : '') + (bad ? '  VIOLATION' : ''),
          function () { return attemptDetail(m, a, allowed, bad); }, a);
      });
    });

    /* Server start/exit markers. */
    m.servers.forEach(function (s) {
      [[s.start, 'server pid ' + str(s.pid) + ' started', s.ev], [s.exit, 'server pid ' + str(s.pid) + ' exited', s.exitEv]].forEach(function (p) {
        if (num(p[0]) === null || !visible(p[0], p[0])) return;
        var x = xOf(p[0]);
        var line = svg('rect', { x: x - 1, y: srow.y - 2 * ROW_H, width: 2, height: 2 * ROW_H + ROW_H, fill: '#212529', class: 'pf-proc' });
        addMark(line, p[1] + ' at ' + fmtDur(p[0]), function () { return eventDetail(m, p[1], p[2]); }, p[2]);
      });
    });
  }

  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }

  function select(st, k) {
    var mk = st.marks[k];
    if (!mk) return;
    st.svg.querySelectorAll('.pf-selected').forEach(function (e) { e.classList.remove('pf-selected'); });
    mk.el.classList.add('pf-selected');
    st.selected = k;
    st.selectedKey = mk.key;
    while (st.panel.firstChild) st.panel.removeChild(st.panel.firstChild);
    st.panel.appendChild(mk.detail());
  }

  var tipEl = null;
  function showTip(text, x, y) {
    tipEl = tipEl || document.getElementById('pf-tooltip');
    if (!tipEl) return;
    tipEl.textContent = text;
    tipEl.hidden = false;
    var w = tipEl.offsetWidth;
    tipEl.style.left = Math.min(x + 12, window.innerWidth - w - 8) + 'px';
    tipEl.style.top = (y + 14) + 'px';
  }
  function hideTip() { if (tipEl) tipEl.hidden = true; }

  /* ---------- details panels ---------- */

  function kv(rows) {
    var dl = h('dl', { class: 'pf-facts' });
    rows.forEach(function (r) {
      if (r[1] === undefined || r[1] === null || r[1] === '') return;
      dl.appendChild(h('dt', { text: r[0] }));
      dl.appendChild(h('dd', null, r[1]));
    });
    return dl;
  }

  function permBlock(p) { return h('pre', { class: 'pf-perm', text: permLines(p).join('\n') }); }

  function rawBlock(e) {
    if (!e) return null;
    var d = h('details', null, h('summary', { text: 'trace event' }), h('pre', { text: JSON.stringify(e, null, 1) }));
    return d;
  }

  function instTip(inst, seg) {
    return 'instance #' + str(inst.id) + (seg ? ': ' + seg.cls + ' (' + permShort(seg.entry.perm) + ') from ' +
      fmtDur(seg.start) + ' to ' + fmtDur(seg.end) : '');
  }

  /* Where a win32 instance's security came from: a short label, then the
   * core's own note when it gives one. */
  function lineageText(m, inst) {
    var l = inst.lineage;
    if (!l) return '';
    var from = l.from !== undefined && l.from !== null ? ' #' + str(l.from) : '';
    var label;
    if (l.kind === 'inherited') label = 'inherited from' + (from || ' a live instance');
    else if (l.kind === 'default') label = 'default: the chain broke' + (from ? ' after' + from : '');
    else if (l.kind === 'explicit') label = 'set explicitly';
    else label = str(l.kind) + from;
    if (l.note) return label + ' \u2014 ' + str(l.note);
    if (l.kind === 'inherited') return label + ' \u2014 carries the security descriptor of a live instance';
    if (l.kind === 'default') return label + ' \u2014 no instance was alive when it was created, so it got the default';
    if (l.kind === 'explicit') return label + ' \u2014 its security descriptor was applied when it created the name';
    return label;
  }

  function instDetail(m, inst, seg) {
    var div = h('div');
    div.appendChild(h('h4', { text: 'Instance #' + str(inst.id) + (seg ? ' \u2014 ' + seg.cls + ' from ' + fmtDur(seg.start) + ' to ' + fmtDur(seg.end) : '') }));
    var admitted = inst.admitted ? Object.keys(inst.admitted).map(function (k) { return k + ' ' + str(inst.admitted[k]); }).join(', ') : '';
    div.appendChild(kv([
      ['endpoint', str(inst.endpoint)], ['key', str(inst.key)],
      ['born', fmtT(inst.born)], ['accepting from', fmtT(inst.accepting)],
      ['removed', num(inst.removed) !== null ? fmtT(inst.removed) : 'still there when the scenario ended'],
      ['lifetime', num(inst.born) !== null ? fmtDur((num(inst.removed) !== null ? inst.removed : m.tEnd) - inst.born) : ''],
      ['birth class', inst.birthClass ? classBadge(inst.birthClass) : ''],
      ['birth evidence', str(inst.birthEvidence)],
      ['class when it started accepting', inst.classAtAccept === null ? 'never accepted' : str(inst.classAtAccept)],
      ['lineage', lineageText(m, inst)],
      ['admitted', admitted],
      ['handle', inst.birthEv && inst.birthEv.handle !== undefined ? str(inst.birthEv.handle) : ''],
      ['created the name', inst.birthEv && inst.birthEv.created_name !== undefined ? str(inst.birthEv.created_name) : ''],
      ['instances of the name', inst.birthEv && inst.birthEv.instance_count !== undefined ? str(inst.birthEv.instance_count) : '']
    ]));
    if (seg) {
      div.appendChild(h('div', { class: 'pf-muted', text: 'Permissions in this segment (' + str(seg.entry.evidence) + '):' }));
      div.appendChild(permBlock(seg.entry.perm));
    }
    div.appendChild(h('div', { class: 'pf-muted', text: 'Birth permissions:' }));
    div.appendChild(permBlock(inst.birthPerm));
    if (inst.segments.length > 1) {
      var t = h('table', null, h('tr', null, h('th', { text: 't' }), h('th', { text: 'class' }), h('th', { text: 'evidence' }), h('th', { text: 'permissions' })));
      inst.segments.forEach(function (s) {
        t.appendChild(h('tr', null, h('td', { text: fmtDur(s.start) }), h('td', null, classBadge(s.entry.class)),
          h('td', { text: str(s.entry.evidence) }), h('td', { class: 'mono', text: permLines(s.entry.perm).join('; ') })));
      });
      div.appendChild(h('div', { class: 'pf-muted', text: 'History:' }));
      div.appendChild(t);
    }
    append(div, rawBlock(inst.birthEv));
    return div;
  }

  /* What the attempt's client does once connected: its entry in the
   * account's `protocols` (results.json clients[]), by the client's label. */
  function protocolOf(m, a) {
    var found = null;
    arr(m.sc.clients).forEach(function (c) {
      if (!obj(c) || str(c.account) !== str(a.account)) return;
      arr(c.protocols).forEach(function (p) {
        if (obj(p) && arr(p.clients).map(str).indexOf(str(a.client)) >= 0) found = p;
      });
    });
    return found;
  }

  /* Bytes a client sends or expects, readable: control characters and `\`
   * as \xNN, as the trace writes reply_head. Shown as text, never markup. */
  function bytesText(v) {
    if (v === undefined || v === null) return '';
    return String(v).replace(/[\u0000-\u001f\u007f\\]/g, function (c) {
      var x = c.charCodeAt(0).toString(16);
      return '\\x' + (x.length < 2 ? '0' + x : x);
    });
  }

  function protocolRows(m, a) {
    var p = protocolOf(m, a) || {};
    var proto = a.protocol !== undefined ? str(a.protocol) : str(p.protocol);
    var waited = num(a.t_done) !== null && num(a.t_end) !== null ? fmtDur(a.t_done - a.t_end) : '';
    return [
      ['protocol', proto],
      ['sent', p.send !== undefined ? h('code', { class: 'pf-sent', text: bytesText(p.send) }) : ''],
      ['expected', p.expect !== undefined ? h('code', { class: 'pf-expected', text: bytesText(p.expect) }) :
        proto === 'send' ? 'any reply' : ''],
      ['reply', str(a.reply)],
      ['reply head', a.reply_head !== undefined ? h('code', { class: 'pf-reply-head', text: str(a.reply_head) }) : ''],
      ['read timeout', num(p.read_timeout_ns) !== null ? fmtDur(p.read_timeout_ns) : ''],
      ['waited for reply', waited]
    ];
  }

  function attemptDetail(m, a, allowed, bad) {
    var div = h('div');
    div.appendChild(h('h4', { text: 'Attempt by ' + str(a.client) + ': ' + str(a.outcome) }));
    div.appendChild(kv([
      ['client', str(a.client)], ['account', str(a.account) + (allowed === true ? ' (allowed)' : allowed === false ? ' (not allowed)' : '')],
      ['pid', str(a.pid)], ['operation', str(a.op)], ['outcome', str(a.outcome)],
      ['errno', a.errno !== undefined && a.errno !== null ? str(a.errno) : ''],
      ['served', a.served !== undefined ? str(a.served) : ''],
      ['served by', a.served_by !== undefined ? (a.served_by === null ? 'nobody (refused)' : str(a.served_by)) : ''],
      ['started', fmtT(a.t)], ['ended', fmtT(num(a.t_end))],
      ['took', num(a.t_end) !== null ? fmtDur(a.t_end - a.t) : ''],
      ['instance', a.instance !== undefined && a.instance !== null ? '#' + str(a.instance) +
        (a.attribution ? ' (by ' + str(a.attribution) + ')' : '') : 'unknown (no evidence names the instance)'],
      ['violation', bad ? (servedByAttacker(a) ? 'served by ' + str(a.served_by) + ', not the server' :
        allowed ? 'an allowed account was denied' : 'a not-allowed account got in') : '']
    ]));
    div.appendChild(h('div', { class: 'pf-muted', text: 'Once connected (the reply never changes admission):' }));
    var pk = kv(protocolRows(m, a));
    pk.classList.add('pf-protocol');
    div.appendChild(pk);
    append(div, rawBlock(a));
    return div;
  }

  function ruleText(m, rule) {
    var r = arr(m.sc.faults).filter(function (f) { return obj(f) && f.rule === rule; })[0];
    if (!r) r = obj(arr(m.sc.faults)[rule]);
    if (!r) return '';
    return Object.keys(r).map(function (k) { return k + ' ' + (typeof r[k] === 'object' ? JSON.stringify(r[k]) : str(r[k])); }).join(', ');
  }

  function faultFields(m, f) {
    return [
      ['rule', str(f.rule)], ['rule spec', ruleText(m, f.rule)],
      ['pid / tid', str(f.pid) + ' / ' + str(f.tid)], ['operation', str(f.op)], ['phase', str(f.phase)],
      ['action', str(f.action)], ['decision', str(f.decision)], ['at', fmtT(f.t)],
      ['delay', num(f.delay_ns) !== null && (f.delay_ns > 0 || f.action === 'delay') ? fmtDur(f.delay_ns) : ''],
      ['errno', f.errno !== undefined && f.errno !== null && f.errno !== 0 ? str(f.errno) : ''], ['reason', str(f.reason)],
      ['released by', f.until_account !== undefined ? str(f.until_account) + ' ' + str(f.until_event) : '']
    ];
  }

  function faultDetail(m, f) {
    var div = h('div');
    div.appendChild(h('h4', { text: 'Fault: ' + str(f.action) + ' at ' + str(f.op) + ' (' + str(f.decision) + ')' }));
    div.appendChild(kv(faultFields(m, f)));
    append(div, rawBlock(f));
    return div;
  }

  function holdTip(hd) {
    var e = hd.startEv || hd.endEv;
    return 'hold at ' + str(e.op) + ' (rule ' + str(e.rule) + ') from ' + fmtDur(hd.start) + ' to ' +
      (hd.endEv ? fmtDur(hd.end) + ' (' + str(hd.endEv.decision) + ')' : 'the end of the scenario');
  }

  function holdDetail(m, hd) {
    var e = hd.startEv || hd.endEv;
    var div = h('div');
    div.appendChild(h('h4', { text: 'Hold at ' + str(e.op) + ' (rule ' + str(e.rule) + ')' }));
    div.appendChild(kv([
      ['held', hd.startEv ? fmtT(hd.start) : 'not recorded'],
      ['ended', hd.endEv ? fmtT(hd.end) + ' (' + str(hd.endEv.decision) + ')' : 'never released before the scenario ended'],
      ['held for', hd.startEv && hd.endEv ? fmtDur(hd.end - hd.start) : '']
    ].concat(faultFields(m, e).filter(function (r) { return r[0] !== 'at' && r[0] !== 'decision'; }))));
    if (hd.endEv && hd.endEv.reason) div.appendChild(h('div', { text: 'released because: ' + str(hd.endEv.reason) }));
    append(div, rawBlock(hd.startEv));
    append(div, rawBlock(hd.endEv));
    return div;
  }

  function eventDetail(m, title, e) {
    var div = h('div');
    div.appendChild(h('h4', { text: title }));
    if (e) {
      div.appendChild(kv(Object.keys(e).map(function (k) {
        var v = e[k];
        return [k, k === 't' ? fmtT(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : str(v)];
      })));
    }
    return div;
  }

  /* ---------- lineage ---------- */

  function renderLineage(m, s) {
    var wrap = h('div', { class: 'pf-lineage' });
    var eps = [], byEp = {};
    m.instances.forEach(function (i) {
      var k = str(i.endpoint);
      if (!byEp[k]) { byEp[k] = []; eps.push(k); }
      byEp[k].push(i);
    });
    if (!eps.length) {
      wrap.appendChild(h('p', { class: 'pf-muted', text: 'No endpoint instance was recorded.' }));
      return wrap;
    }
    eps.forEach(function (ep) {
      var list = byEp[ep];
      wrap.appendChild(h('div', null, h('span', { class: 'pf-muted', text: 'endpoint ' }), h('code', { text: ep || '(unknown)' }),
        h('span', { class: 'pf-muted', text: ' \u2014 ' + list.length + ' instance' + (list.length === 1 ? '' : 's') })));
      var chain = h('div', { class: 'pf-chain' });
      var lastEnd = null;
      list.forEach(function (inst, k) {
        if (k > 0) {
          /* Between two instances: did the next one exist before every earlier
           * one was gone (heirloom possible), or was there a gap? */
          var born = num(inst.born), gap = born !== null && lastEnd !== null && lastEnd !== Infinity && born >= lastEnd ? born - lastEnd : null;
          chain.appendChild(h('div', { class: 'pf-arrow' + (gap !== null ? ' broke' : '') },
            gap !== null ? '\u2192 gap ' + fmtDur(gap) + ', nothing alive' : '\u2192 overlaps'));
        }
        var end = num(inst.removed) !== null ? inst.removed : Infinity;
        lastEnd = lastEnd === null ? end : Math.max(lastEnd, end);
        chain.appendChild(lineageLink(m, inst));
      });
      wrap.appendChild(chain);
    });
    return wrap;
  }

  function lineageLink(m, inst) {
    var birth = classOf(inst.birthClass || (inst.segments[0] && inst.segments[0].cls));
    var box = h('div', { class: 'pf-link b-' + birth, 'data-instance': str(inst.id), 'data-class': birth, tabindex: 0,
      title: 'show instance #' + str(inst.id) + ' in the timeline' });
    function pick() { if (m.selectInstance) m.selectInstance(inst.id); }
    box.addEventListener('click', pick);
    box.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); pick(); } });
    box.appendChild(h('div', { class: 'pf-link-head' }, '#' + str(inst.id) + ' ', classBadge(birth)));
    if (inst.lineage) box.appendChild(h('div', { text: lineageText(m, inst) }));
    else box.appendChild(h('div', { text: 'born ' + birth + (inst.birthEvidence ? ' (' + str(inst.birthEvidence) + ')' : '') + ', ' + permShort(inst.birthPerm) }));
    /* What changed it afterwards. */
    var prev = birth;
    inst.segments.slice(1).forEach(function (seg) {
      if (seg.cls === prev) return;
      box.appendChild(h('div', { text: '\u2192 ' + seg.cls + ' after ' + fmtDur(seg.start - inst.born) +
        ' (' + permShort(seg.entry.perm) + (seg.entry.evidence ? ', ' + str(seg.entry.evidence) : '') + ')' }));
      prev = seg.cls;
    });
    if (inst.classAtAccept) box.appendChild(h('div', { class: 'pf-muted', text: 'accepting while ' + str(inst.classAtAccept) }));
    if (inst.admitted) {
      var adm = Object.keys(inst.admitted).map(function (k) { return k + ' ' + str(inst.admitted[k]); }).join(', ');
      if (adm) box.appendChild(h('div', { class: 'pf-muted', text: 'admitted ' + adm }));
    }
    return box;
  }

  /* ---------- exposure windows ---------- */

  function exposureData(m) {
    var secure = [], never = 0, recreate = [];
    m.instances.forEach(function (i) {
      if (num(i.born) === null) return;
      var first = null;
      for (var k = 0; k < i.segments.length; k++) if (i.segments[k].cls === 'intended') { first = i.segments[k].start; break; }
      if (first === null) never++;
      else secure.push(first - i.born);
    });
    var byEp = {};
    m.instances.forEach(function (i) { if (num(i.born) !== null) (byEp[str(i.endpoint)] = byEp[str(i.endpoint)] || []).push(i); });
    Object.keys(byEp).forEach(function (ep) {
      var list = byEp[ep], lastEnd = null;
      list.forEach(function (i) {
        if (lastEnd !== null && lastEnd !== Infinity && i.born >= lastEnd) recreate.push(i.born - lastEnd);
        var end = num(i.removed) !== null ? i.removed : Infinity;
        lastEnd = lastEnd === null ? end : Math.max(lastEnd, end);
      });
    });
    return { secure: secure, never: never, recreate: recreate };
  }

  function renderExposure(m) {
    var d = exposureData(m);
    var wrap = h('div', { class: 'pf-hists' });
    wrap.appendChild(histogram('create \u2192 secured', 'time from an instance\'s birth to its first intended state',
      d.secure, d.never ? [['never', d.never]] : []));
    wrap.appendChild(histogram('last close \u2192 re-create', 'time with no instance alive before the next one was born',
      d.recreate, []));
    return wrap;
  }

  /* Bins on a 1-2-5 log scale: windows range from nanoseconds to seconds. */
  function histogram(title, help, values, extra) {
    var box = h('div', { class: 'pf-hist', title: help });
    box.appendChild(h('div', { class: 'pf-hist-title', text: title }));
    var zero = values.filter(function (v) { return v <= 0; }).length;
    var pos = values.filter(function (v) { return v > 0; });
    var bins = [];
    if (zero) bins.push({ label: '0', n: zero, tip: zero + ' at zero (already there at birth / no gap)' });
    if (pos.length) {
      var lo = Math.min.apply(null, pos), hi = Math.max.apply(null, pos);
      var edges = [], e = Math.pow(10, Math.floor(Math.log10(lo)));
      var steps = [1, 2, 5];
      var si = 2; /* the largest 1-2-5 edge not above the smallest value */
      while (e * steps[si] > lo) { si--; if (si < 0) { si = 2; e /= 10; } }
      while (true) {
        var v = e * steps[si];
        edges.push(v);
        if (v > hi) break;
        si++; if (si > 2) { si = 0; e *= 10; }
        if (edges.length > 40) break;
      }
      for (var k = 0; k + 1 < edges.length; k++) {
        var a = edges[k], b = edges[k + 1];
        var n = pos.filter(function (x) { return x >= a && x < b; }).length;
        bins.push({ label: fmtDur(a), n: n, tip: n + ' between ' + fmtDur(a) + ' and ' + fmtDur(b) });
      }
      while (bins.length > 1 && bins[bins.length - 1].n === 0) bins.pop();
    }
    (extra || []).forEach(function (x) { bins.push({ label: x[0], n: x[1], tip: x[1] + ' ' + x[0], special: true }); });
    if (!bins.length) {
      box.appendChild(h('div', { class: 'pf-muted', text: 'nothing to measure' }));
      return box;
    }
    var W = Math.max(220, bins.length * 34 + 20), H = 110, top = 14, base = 80;
    var max = Math.max.apply(null, bins.map(function (b) { return b.n; })) || 1;
    var bw = (W - 20) / bins.length;
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title });
    bins.forEach(function (b, i) {
      var x = 10 + i * bw, hh = (base - top) * b.n / max;
      var r = svg('rect', { x: x + 2, y: base - hh, width: Math.max(bw - 4, 2), height: hh,
        fill: b.special ? COLORS.default : '#4c6ef5', class: 'pf-bar' });
      r.appendChild(svg('title', { text: b.tip }));
      s.appendChild(r);
      if (b.n) s.appendChild(svg('text', { x: x + bw / 2, y: base - hh - 2, 'text-anchor': 'middle', class: 'pf-barcount', text: b.n }));
      if (bins.length <= 8 || i % 2 === 0)
        s.appendChild(svg('text', { x: x + 2, y: base + 12, text: b.label, transform: 'rotate(25 ' + (x + 2) + ' ' + (base + 12) + ')' }));
    });
    s.appendChild(svg('line', { x1: 8, x2: W - 8, y1: base + 0.5, y2: base + 0.5, stroke: '#adb5bd' }));
    box.appendChild(s);
    box.appendChild(h('div', { class: 'pf-muted', text: values.length + (extra && extra.length ? ' + ' + extra[0][1] + ' never' : '') + ' measured' +
      (pos.length ? '; longest ' + fmtDur(Math.max.apply(null, pos)) : '') }));
    return box;
  }

  /* ---------- facts ---------- */

  function renderFacts(m) {
    var sc = m.sc, div = h('div');
    var pf = obj(sc.platform_facts) || (m.platformEv ? m.platformEv : null) || {};
    var rows = [];
    Object.keys(pf).forEach(function (k) {
      if (k === 'default' || k === 't' || k === 'ev' || k === 'src') return;
      rows.push([k.replace(/_/g, ' '), typeof pf[k] === 'object' && pf[k] !== null ? JSON.stringify(pf[k]) : str(pf[k])]);
    });
    div.appendChild(kv(rows));
    var grid = h('div', { class: 'pf-hists' });
    grid.appendChild(h('div', null, h('div', { class: 'pf-muted', text: 'intended permissions' }), permBlock(sc.intended)));
    grid.appendChild(h('div', null, h('div', { class: 'pf-muted', text: 'platform default' }), permBlock(pf.default)));
    div.appendChild(grid);

    if (arr(sc.clients).length) {
      var t = h('table', { class: 'pf-clients' }, h('tr', null, ['account', 'user', 'allowed', 'attempts', 'outcomes', 'served', 'protocol', 'replies'].map(function (c) { return h('th', { text: c }); })));
      var counts = function (o) { return obj(o) ? Object.keys(o).map(function (k) { return k + ' ' + str(o[k]); }).join(', ') : ''; };
      arr(sc.clients).forEach(function (c) {
        if (!obj(c)) return;
        /* Each entry: "send version\x0d\x0a, expect VERSION " (bytes as text). */
        var protos = arr(c.protocols).filter(obj).map(function (p) {
          if (p.command !== undefined) return 'command ' + arr(p.command).map(str).join(' ');
          return str(p.protocol) + (p.send !== undefined ? ' ' + bytesText(p.send) : '') +
            (p.expect !== undefined ? ', expect ' + bytesText(p.expect) : '');
        }).join('; ');
        var exits = counts(c.command_exits);
        var outs = counts(c.outcomes) + (exits ? (counts(c.outcomes) ? '; ' : '') + 'command ' + exits : '');
        t.appendChild(h('tr', null, [str(c.account), str(c.user), str(c.allowed), str(c.attempts), outs,
          str(c.served), protos, counts(c.replies)].map(function (v) { return h('td', { text: v }); })));
      });
      div.appendChild(t);
    }
    if (m.accountsEv.length) {
      var ta = h('table', null, h('tr', null, ['account', 'user', 'uid', 'gid', 'groups', 'allowed'].map(function (c) { return h('th', { text: c }); })));
      m.accountsEv.forEach(function (a) {
        ta.appendChild(h('tr', null, [a.name, a.user, a.uid, a.gid, arr(a.groups).join(', '), a.allowed].map(function (v) { return h('td', { text: str(v) }); })));
      });
      div.appendChild(ta);
    }
    if (arr(sc.faults).length) {
      var tf = h('table', null, h('tr', null, ['rule', 'at', 'phase', 'action', 'fired', 'more'].map(function (c) { return h('th', { text: c }); })));
      arr(sc.faults).forEach(function (f) {
        if (!obj(f)) return;
        var more = Object.keys(f).filter(function (k) { return ['rule', 'at', 'phase', 'action', 'fired'].indexOf(k) < 0; })
          .map(function (k) { return k + ' ' + (typeof f[k] === 'object' ? JSON.stringify(f[k]) : str(f[k])); }).join(', ');
        tf.appendChild(h('tr', null, [f.rule, f.at, f.phase, f.action, f.fired, more].map(function (v) { return h('td', { text: str(v) }); })));
      });
      div.appendChild(tf);
    }
    var srv = obj(sc.server);
    if (srv) {
      div.appendChild(kv([
        ['server pid', str(srv.pid)],
        ['argv', Array.isArray(srv.argv) ? h('code', { text: srv.argv.map(str).join(' ') }) : str(srv.argv)],
        ['exit status', str(srv.exit_status)], ['signal', str(srv.signal)]
      ]));
      if (srv.stderr_tail) {
        div.appendChild(h('div', { class: 'pf-muted', text: 'server stderr (last lines)' }));
        div.appendChild(h('pre', { class: 'pf-stderr', text: str(srv.stderr_tail) }));
      }
    }
    return div;
  }

  /* ---------- start ---------- */

  function main() {
    var mainEl = document.getElementById('pf-main');
    var data;
    try {
      data = JSON.parse(document.getElementById('pf-data').textContent);
    } catch (e) {
      mainEl.appendChild(h('p', { class: 'pf-warn', text: 'The report data could not be read: ' + e }));
      document.documentElement.setAttribute('data-rendered', 'error');
      return;
    }
    data = obj(data) || {};
    var run = obj(data.run) || {};
    document.title = 'pipefault report' + (run.id ? ' \u2014 ' + str(run.id) : '');
    var state = { scenarios: arr(data.scenarios).filter(obj), sections: [], rows: [], filter: null };

    renderOverview(data, mainEl, state);
    mainEl.appendChild(h('h2', { text: 'Scenarios' }));
    var frag = document.createDocumentFragment();
    state.scenarios.forEach(function (sc, i) { frag.appendChild(renderShell(sc, i, state)); });
    mainEl.appendChild(frag);

    /* Draw the open sections that are on screen now; the rest as they come
     * into view. */
    var byId = {};
    state.sections.forEach(function (s) { byId[s.el.id] = s; });
    function openHash() {
      var id = decodeURIComponent(location.hash.slice(1));
      var s = byId[id];
      if (!s) return;
      s.details.open = true;
      drawBody(s);
      s.el.scrollIntoView();
    }
    window.addEventListener('hashchange', openHash);
    if (location.hash) openHash();
    var vh = window.innerHeight || 800;
    for (var i = 0; i < state.sections.length; i++) {
      var s = state.sections[i], r = s.el.getBoundingClientRect();
      if (r.top > vh) break;
      if (r.bottom >= 0 && s.details.open) drawBody(s);
    }
    if (window.IntersectionObserver) {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (en) {
          var sec = byId[en.target.id];
          if (en.isIntersecting && sec && sec.details.open) drawBody(sec);
        });
      }, { rootMargin: '300px 0px' });
      state.sections.forEach(function (sec) { io.observe(sec.el); });
    } else {
      state.sections.forEach(function (sec) { if (sec.details.open) drawBody(sec); });
    }
    /* performance.now() counts from the start of navigation. */
    var ms = window.performance && performance.now ? performance.now() : 0;
    document.documentElement.setAttribute('data-render-ms', String(Math.round(ms)));
    document.documentElement.setAttribute('data-rendered', '1');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
