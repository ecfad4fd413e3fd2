/* clubbot staff console, the campaign composer: the segment builder (groups of conditions, each
 * group joining its items by AND or OR, groups nested up to the limit the page gives, conditions
 * and groups each negatable) writes the rule document into the form's rule field, and asks the
 * segments API's preview for the live count; the rule in the field (typed by hand, before or
 * after the page opened, or sent back after a refusal) is shown in the builder when the builder
 * can show it (rule_plan.js says whether it can). The
 * chat bubble and the template card follow the message as it is typed. Without this script the
 * rule field is typed by hand. */
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) { return; }
  var opts = JSON.parse(document.getElementById("builder-options").textContent);
  var W = opts.words;
  var LIMITS = opts.limits;
  var holder = document.getElementById("b-root");
  var note = document.getElementById("b-note");
  var ruleField = document.getElementById("c-rule");
  var countOut = document.getElementById("segment-count");
  var chooser = document.getElementById("c-segment");
  var builder = document.getElementById("builder");
  var serial = 0;
  var wrote = false; /* the rule field holds what the builder wrote (or loaded) */
  var unshown = ""; /* why the rule in the field is not in the builder */

  var CLASSES = [{ value: "A", label: "A" }, { value: "B", label: "B" }, { value: "C", label: "C" }];
  var RISKS = [{ value: "high", label: W.high }, { value: "medium", label: W.medium },
    { value: "low", label: W.low }];
  var LANGS = [{ value: "zh", label: W.zh }, { value: "en", label: W.en }];
  var MONTHS = [];
  for (var mo = 1; mo <= 12; mo++) { MONTHS.push({ value: mo, label: String(mo) }); }

  /* Each kind: its inputs, and how they become the rule. */
  var KINDS = {
    tier: { fields: [["tiers", "multi", opts.tiers]] },
    status: { fields: [["statuses", "multi", opts.statuses]] },
    value_class: { fields: [["classes", "multi", CLASSES]] },
    churn_risk: { fields: [["levels", "multi", RISKS]] },
    channel_level: { fields: [["levels", "multi", opts.levels]] },
    language: { fields: [["languages", "multi", LANGS]] },
    birthday_month: { fields: [["months", "multi", MONTHS]] },
    last_purchase: { fields: [["within_days", "int"], ["more_than_days", "int"]] },
    joined: { fields: [["within_days", "int"], ["more_than_days", "int"]] },
    spend: { fields: [["period", "choice", [{ value: "12_months", label: W.period_12 },
      { value: "lifetime", label: W.period_life }]], ["min_fen", "yuan"], ["max_fen", "yuan"]] },
    purchase_count: { fields: [["min", "int"], ["max", "int"], ["within_days", "int"]] },
    points_balance: { fields: [["min", "int"], ["max", "int"]] },
    tags: { fields: [["tags", "list"], ["match", "choice", [{ value: "any", label: W.any },
      { value: "all", label: W.all }]]] }
  };
  /* Fields the builder has no input for, shown anyway when they hold the API's default. */
  var DEFAULTS = { channel_level: { via: "purchase" }, birthday_month: { calendar: "solar" } };
  var FIELD_WORDS = { within_days: W.within_days, more_than_days: W.more_than_days,
    min_fen: W.min_yuan, max_fen: W.max_yuan, min: W.min, max: W.max, tags: W.tags,
    period: W.period_12 + " / " + W.period_life, match: W.any + " / " + W.all };

  function kindLabel(kind) {
    for (var i = 0; i < opts.kinds.length; i++) {
      if (opts.kinds[i].value === kind) { return opts.kinds[i].label; }
    }
    return kind;
  }

  function fmt(s, values) {
    return s.replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : String(values[k]); });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) { if (attrs.hasOwnProperty(k)) { node.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function notBox(id, words) {
    var neg = el("input", { type: "checkbox", id: id + "-not", "data-not": "1" });
    var label = el("label", { "for": id + "-not", "class": "check" });
    label.appendChild(neg);
    label.appendChild(document.createTextNode(" " + words));
    return label;
  }

  /* A group's own part (its head, list or tools), not one of a group inside it. */
  function part(group, cls) {
    for (var i = 0; i < group.children.length; i++) {
      if (group.children[i].classList.contains(cls)) { return group.children[i]; }
    }
    return null;
  }

  /* Removing an item leaves the focus on its group's condition picker. */
  function removeItem(li) {
    var group = li.parentNode.parentNode;
    li.parentNode.removeChild(li);
    part(group, "row-tools").querySelector("[data-picker]").focus();
    changed();
  }

  function makeRow(kind) {
    var spec = KINDS[kind];
    serial += 1;
    var id = "r" + serial;
    var li = el("li", { "class": "rule-row", "data-kind": kind });
    var head = el("div", { "class": "rule-head" });
    head.appendChild(el("b", {}, kindLabel(kind)));
    head.appendChild(notBox(id, W.not));
    var remove = el("button", { type: "button", "class": "link", "aria-label": W.remove + " " +
      kindLabel(kind) }, W.remove);
    remove.addEventListener("click", function () { removeItem(li); });
    head.appendChild(remove);
    li.appendChild(head);
    var body = el("div", { "class": "rule-body" });
    spec.fields.forEach(function (f, n) {
      var name = f[0], type = f[1], choices = f[2];
      if (type === "multi") {
        var group = el("fieldset", { "class": "checks", "data-field": name, "data-type": type });
        group.appendChild(el("legend", { "class": "visually-hidden" }, kindLabel(kind)));
        choices.forEach(function (c, i) {
          var cid = id + "-" + n + "-" + i;
          var box = el("input", { type: "checkbox", id: cid, value: String(c.value) });
          var lab = el("label", { "for": cid, "class": "check" });
          lab.appendChild(box);
          lab.appendChild(document.createTextNode(" " + c.label));
          group.appendChild(lab);
        });
        body.appendChild(group);
      } else {
        var fid = id + "-" + n;
        body.appendChild(el("label", { "for": fid }, FIELD_WORDS[name] || name));
        var input;
        if (type === "choice") {
          input = el("select", { id: fid });
          choices.forEach(function (c) { input.appendChild(el("option", { value: c.value }, c.label)); });
        } else {
          input = el("input", { id: fid, inputmode: type === "list" ? "text" : "decimal",
            size: type === "list" ? "24" : "8" });
        }
        input.setAttribute("data-field", name);
        input.setAttribute("data-type", type);
        body.appendChild(input);
      }
    });
    li.appendChild(body);
    return li;
  }

  /* A group: a fieldset whose legend names it ("group 1.2"), its AND/OR, its NOT, its items (an
   * ordered list of conditions and groups), and the buttons that add to it. */
  function makeGroup(level) {
    serial += 1;
    var id = "g" + serial;
    var box = el("fieldset", { "class": "rule-group", "data-level": String(level) });
    box.appendChild(el("legend", {}));
    var head = el("div", { "class": "group-head" });
    head.appendChild(el("label", { "for": id + "-combine" }, W.combine));
    var combine = el("select", { id: id + "-combine", "data-combine": "1" });
    combine.appendChild(el("option", { value: "and" }, W.and));
    combine.appendChild(el("option", { value: "or" }, W.or));
    head.appendChild(combine);
    head.appendChild(notBox(id, W.not_group));
    if (level > 1) {
      var remove = el("button", { type: "button", "class": "link", "data-remove-group": "1" },
        W.remove_group);
      remove.addEventListener("click", function () { removeItem(box.parentNode); });
      head.appendChild(remove);
    }
    box.appendChild(head);
    var list = el("ol", { "class": "rows" });
    box.appendChild(list);
    var tools = el("div", { "class": "row-tools" });
    tools.appendChild(el("label", { "for": id + "-kind" }, W.add_condition));
    var picker = el("select", { id: id + "-kind", "data-picker": "1" });
    opts.kinds.forEach(function (k) { picker.appendChild(el("option", { value: k.value }, k.label)); });
    tools.appendChild(picker);
    var add = el("button", { type: "button", "class": "secondary", "data-add": "1" }, W.add);
    add.addEventListener("click", function () {
      var li = makeRow(picker.value);
      list.appendChild(li);
      var first = li.querySelector("input:not([data-not]), select");
      if (first) { first.focus(); }
      changed();
    });
    tools.appendChild(add);
    if (level < LIMITS.depth) {
      var sub = el("button", { type: "button", "class": "secondary", "data-add": "1" }, W.add_group);
      sub.addEventListener("click", function () {
        var inner = makeGroup(level + 1);
        list.appendChild(groupItem(inner));
        changed();
        part(inner, "row-tools").querySelector("[data-picker]").focus();
      });
      tools.appendChild(sub);
    } else {
      tools.appendChild(el("span", { "class": "hint" }, fmt(W.deepest, LIMITS)));
    }
    box.appendChild(tools);
    return box;
  }

  function groupItem(group) {
    var li = el("li", { "class": "group-row" });
    li.appendChild(group);
    return li;
  }

  function itemsOf(group) { return part(group, "rows").children; }

  function readRow(li) {
    var rule = { rule: li.getAttribute("data-kind") };
    var inputs = li.querySelectorAll("[data-field]");
    for (var i = 0; i < inputs.length; i++) {
      var node = inputs[i], name = node.getAttribute("data-field"), type = node.getAttribute("data-type");
      if (type === "multi") {
        var picked = [];
        var boxes = node.querySelectorAll("input:checked");
        for (var j = 0; j < boxes.length; j++) {
          picked.push(name === "months" ? parseInt(boxes[j].value, 10) : boxes[j].value);
        }
        if (picked.length) { rule[name] = picked; }
      } else {
        var v = node.value.trim();
        if (!v) { continue; }
        if (type === "int") { rule[name] = parseInt(v.replace(/,/g, ""), 10); }
        else if (type === "yuan") { rule[name] = Math.round(parseFloat(v.replace(/,/g, "")) * 100); }
        else if (type === "list") { rule[name] = v.split(/[,，\s]+/).filter(Boolean); }
        else { rule[name] = v; }
      }
    }
    return li.querySelector("[data-not]").checked ? { rule: "not", of: rule } : rule;
  }

  /* A group's rule: its items joined by its AND/OR (one item stands alone), NOT around it when
   * negated; an empty group writes nothing. */
  function readGroup(group) {
    var rules = [];
    var items = itemsOf(group);
    for (var i = 0; i < items.length; i++) {
      var rule = items[i].className === "rule-row" ? readRow(items[i]) : readGroup(items[i].firstChild);
      if (rule) { rules.push(rule); }
    }
    if (!rules.length) { return null; }
    var head = part(group, "group-head");
    var out = rules.length === 1 ? rules[0]
      : { rule: head.querySelector("[data-combine]").value, rules: rules };
    return head.querySelector("[data-not]").checked ? { rule: "not", of: out } : out;
  }

  /* Names every group by its place ("1", "1.2", "1.2.1") and keeps the API's size limits: no
   * adding past the conditions a document may hold, or the items a group may. */
  function refresh() {
    var full = root.querySelectorAll(".rule-row").length >= LIMITS.conditions;
    var crowded = false;
    (function name(group, path) {
      group.firstChild.textContent = fmt(W.group, { n: path });
      var remove = part(group, "group-head").querySelector("[data-remove-group]");
      if (remove) { remove.setAttribute("aria-label", W.remove_group + " " + path); }
      var items = itemsOf(group), k = 0;
      var room = !full && items.length < LIMITS.per_group;
      crowded = crowded || !room;
      var adds = part(group, "row-tools").querySelectorAll("[data-add]");
      for (var a = 0; a < adds.length; a++) { adds[a].disabled = !room; }
      for (var i = 0; i < items.length; i++) {
        if (items[i].className === "group-row") { k += 1; name(items[i].firstChild, path + "." + k); }
      }
    })(root, "1");
    var says = crowded ? fmt(W.full, LIMITS) : unshown;
    note.textContent = says;
    note.hidden = !says;
  }

  var plan = window.clubbotRulePlan(KINDS, DEFAULTS, LIMITS.depth);

  function fillRow(li, planned) {
    li.querySelector("[data-not]").checked = planned.not;
    var inputs = li.querySelectorAll("[data-field]");
    for (var i = 0; i < inputs.length; i++) {
      var node = inputs[i], value = planned.rule[node.getAttribute("data-field")];
      var type = node.getAttribute("data-type");
      if (value === undefined) { continue; }
      if (type === "multi") {
        var boxes = node.querySelectorAll("input");
        for (var j = 0; j < boxes.length; j++) {
          boxes[j].checked = value.map(String).indexOf(boxes[j].value) >= 0;
        }
      } else if (type === "yuan") { node.value = String(value / 100); }
      else if (type === "list") { node.value = value.join(", "); }
      else { node.value = String(value); }
    }
  }

  function fillGroup(group, planned, level) {
    var head = part(group, "group-head");
    head.querySelector("[data-combine]").value = planned.combine;
    head.querySelector("[data-not]").checked = planned.not;
    var list = part(group, "rows");
    planned.items.forEach(function (item) {
      if (item.items) {
        var inner = makeGroup(level + 1);
        list.appendChild(groupItem(inner));
        fillGroup(inner, item, level + 1);
      } else {
        var li = makeRow(item.kind);
        list.appendChild(li);
        fillRow(li, item);
      }
    });
  }

  function buildRule() { return readGroup(root); }

  var root = makeGroup(1);
  holder.appendChild(root);
  document.getElementById("b-limits").hidden = false;
  /* The rule field's document shown in the builder, the builder emptied first; false when it
   * cannot show it (the note says so, and a condition added then writes over the field). */
  function showField() {
    var text = ruleField.value.trim();
    var planned = null;
    if (text) { try { planned = plan(JSON.parse(text)); } catch (e) { planned = null; } }
    var list = part(root, "rows");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var head = part(root, "group-head");
    head.querySelector("[data-combine]").value = "and";
    head.querySelector("[data-not]").checked = false;
    if (planned) { fillGroup(root, planned, 1); }
    wrote = planned !== null;
    unshown = text && !planned ? W.not_loaded : "";
    return !unshown;
  }
  if (!showField()) { document.getElementById("b-json").open = true; }

  var timer = null, asked = 0;
  function count() {
    var text = ruleField.value.trim();
    if (!text || chooser.value !== "new") { countOut.textContent = "—"; return; }
    var mine = ++asked;
    countOut.textContent = W.counting;
    var data = new URLSearchParams();
    data.append("csrf_token", form.querySelector("[name=csrf_token]").value);
    data.append("rule", text);
    fetch("/console/segments/count", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (mine !== asked) { return; }
        if (answer.count !== undefined) {
          countOut.textContent = answer.count.toLocaleString();
          countOut.setAttribute("data-count", String(answer.count));
          countOut.className = "";
        } else {
          countOut.textContent = W.invalid + " " + (answer.error || "");
          countOut.removeAttribute("data-count");
          countOut.className = "neg";
        }
      });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(count, 350); }

  /* Every change in the builder rewrites the field; emptied, the builder clears only what it
   * wrote (a rule typed by hand stays until a condition is added). */
  function changed() {
    var rule = buildRule();
    if (rule) {
      ruleField.value = JSON.stringify(rule);
      wrote = true;
      unshown = "";
    } else if (wrote) {
      ruleField.value = "";
    }
    refresh();
    later();
  }
  function edited(event) {
    if (!event.target.hasAttribute("data-picker")) { changed(); }
  }

  holder.addEventListener("input", edited);
  holder.addEventListener("change", edited);
  /* Typed by hand: the builder follows the field, so that a later click in it never writes its
   * old rule over the typing. */
  ruleField.addEventListener("input", function () { showField(); refresh(); later(); });
  refresh();
  function chosen() {
    builder.disabled = chooser.value !== "new";
    later();
  }
  chooser.addEventListener("change", chosen);
  chosen();

  /* The preview: the text in a chat bubble, the template's fields on a card. */
  var text = document.getElementById("c-text");
  var fields = document.getElementById("c-fields");
  var bubble = document.getElementById("preview-bubble");
  var card = document.getElementById("preview-card-fields");
  var name = document.getElementById("c-name");
  function fill(s) {
    return s.replace(/\{name\}/g, "王先生").replace(/\{tier\}/g, "金卡")
      .replace(/\{campaign\}/g, name.value).replace(/\{content\}/g, text.value)
      .replace(/\{date\}/g, new Date().toISOString().slice(0, 10));
  }
  function preview() {
    bubble.textContent = text.value || "…";
    while (card.firstChild) { card.removeChild(card.firstChild); }
    var lines = (fields.value || "thing1={campaign}\nthing2={content}").split("\n");
    lines.forEach(function (line) {
      var at = line.indexOf("=");
      if (at < 1) { return; }
      var row = el("div", {});
      row.appendChild(el("dt", {}, line.slice(0, at).trim()));
      row.appendChild(el("dd", {}, fill(line.slice(at + 1).trim())));
      card.appendChild(row);
    });
  }
  [text, fields, name].forEach(function (n) { n.addEventListener("input", preview); });
  preview();
})();
