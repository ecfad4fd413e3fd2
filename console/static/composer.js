/* clubbot staff console, the campaign composer: the segment builder (conditions joined by AND or
 * OR, each one negatable) writes the rule document into the form's rule field, and asks the
 * segments API's preview for the live count; the chat bubble and the template card follow the
 * message as it is typed. Without this script the rule field is typed by hand. */
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) { return; }
  var opts = JSON.parse(document.getElementById("builder-options").textContent);
  var W = opts.words;
  var rows = document.getElementById("b-rows");
  var ruleField = document.getElementById("c-rule");
  var countOut = document.getElementById("segment-count");
  var combine = document.getElementById("b-combine");
  var chooser = document.getElementById("c-segment");
  var builder = document.getElementById("builder");
  var serial = 0;

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
  var FIELD_WORDS = { within_days: W.within_days, more_than_days: W.more_than_days,
    min_fen: W.min_yuan, max_fen: W.max_yuan, min: W.min, max: W.max, tags: W.tags,
    period: W.period_12 + " / " + W.period_life, match: W.any + " / " + W.all };

  function kindLabel(kind) {
    for (var i = 0; i < opts.kinds.length; i++) {
      if (opts.kinds[i].value === kind) { return opts.kinds[i].label; }
    }
    return kind;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) { if (attrs.hasOwnProperty(k)) { node.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function addRow(kind) {
    var spec = KINDS[kind];
    serial += 1;
    var id = "r" + serial;
    var li = el("li", { "class": "rule-row", "data-kind": kind });
    var head = el("div", { "class": "rule-head" });
    head.appendChild(el("b", {}, kindLabel(kind)));
    var neg = el("input", { type: "checkbox", id: id + "-not", "data-not": "1" });
    var negLabel = el("label", { "for": id + "-not", "class": "check" });
    negLabel.appendChild(neg);
    negLabel.appendChild(document.createTextNode(" " + W.not));
    head.appendChild(negLabel);
    var remove = el("button", { type: "button", "class": "link", "aria-label": W.remove + " " +
      kindLabel(kind) }, W.remove);
    remove.addEventListener("click", function () { li.parentNode.removeChild(li); changed(); });
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
    rows.appendChild(li);
    var first = li.querySelector("input:not([data-not]), select");
    if (first) { first.focus(); }
    changed();
  }

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
    var out = rule;
    if (li.querySelector("[data-not]").checked) { out = { rule: "not", of: rule }; }
    return out;
  }

  function buildRule() {
    var items = rows.querySelectorAll(".rule-row");
    if (!items.length) { return null; }
    var rules = [];
    for (var i = 0; i < items.length; i++) { rules.push(readRow(items[i])); }
    return rules.length === 1 ? rules[0] : { rule: combine.value, rules: rules };
  }

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

  function changed() {
    var rule = buildRule();
    if (rule) { ruleField.value = JSON.stringify(rule); }
    later();
  }

  document.getElementById("b-add").addEventListener("click", function () {
    addRow(document.getElementById("b-kind").value);
  });
  rows.addEventListener("input", changed);
  rows.addEventListener("change", changed);
  combine.addEventListener("change", changed);
  ruleField.addEventListener("input", later);
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
