/* clubbot staff console: which rule documents the composer's segment builder can show, and how.
 * A document is shown when its groups stay within the depth limit and each condition is of a
 * kind the builder offers, holding only what its inputs can hold (or a default it has no input
 * for); anything else stays as typed in the rule field. Kept apart from composer.js, which
 * draws the builder, so the rules of what fits are read in one place.
 * window.clubbotRulePlan(kinds, defaults, depth) gives plan(document): a plan of groups
 * ({combine, not, items}) and conditions ({kind, not, rule}), or null. */
(function () {
  "use strict";
  window.clubbotRulePlan = function (KINDS, DEFAULTS, DEPTH) {
    var LIMITS = { depth: DEPTH };
    /* What the builder can show of a rule document, or null: groups within the depth limit,
     * conditions of the builder's kinds holding only what its inputs can hold. */
    function isRule(r) { return r !== null && typeof r === "object" && !Array.isArray(r); }
    function keys(r) { return Object.keys(r).sort().join(","); }
    function isGroupRule(r) { return isRule(r) && (r.rule === "and" || r.rule === "or"); }

    function planGroup(rule, level) {
      var negated = rule.rule === "not";
      if (negated) { if (keys(rule) !== "of,rule") { return null; } rule = rule.of; }
      if (level > LIMITS.depth || !isGroupRule(rule) || keys(rule) !== "rule,rules" ||
          !Array.isArray(rule.rules)) { return null; }
      var items = [];
      for (var i = 0; i < rule.rules.length; i++) {
        var r = rule.rules[i];
        var inner = isRule(r) && r.rule === "not" ? r.of : r;
        var item = isGroupRule(inner) ? planGroup(r, level + 1) : planCondition(r);
        if (!item) { return null; }
        items.push(item);
      }
      return { combine: rule.rule, not: negated, items: items };
    }

    function fits(value, type, choices) {
      if (type === "multi") {
        return Array.isArray(value) && value.length > 0 && value.every(function (v) {
          return choices.some(function (c) { return c.value === v; });
        });
      }
      if (type === "choice") { return choices.some(function (c) { return c.value === value; }); }
      if (type === "list") {
        return Array.isArray(value) && value.length > 0 && value.every(function (v) {
          return typeof v === "string" && /^[^,，\s]+$/.test(v);
        });
      }
      return typeof value === "number" && value >= 0 && Math.floor(value) === value;
    }

    function planCondition(rule) {
      var negated = isRule(rule) && rule.rule === "not";
      if (negated) { if (keys(rule) !== "of,rule") { return null; } rule = rule.of; }
      if (!isRule(rule) || !KINDS.hasOwnProperty(rule.rule)) { return null; }
      var spec = KINDS[rule.rule], defaults = DEFAULTS[rule.rule] || {};
      for (var k in rule) {
        if (!rule.hasOwnProperty(k) || k === "rule" || defaults[k] === rule[k]) { continue; }
        var field = spec.fields.filter(function (f) { return f[0] === k; })[0];
        if (!field || !fits(rule[k], field[1], field[2])) { return null; }
      }
      return { kind: rule.rule, not: negated, rule: rule };
    }

    function plan(doc) {
      var inner = isRule(doc) && doc.rule === "not" ? doc.of : doc;
      if (isGroupRule(inner)) { return planGroup(doc, 1); }
      var only = planCondition(doc);
      return only && { combine: "and", not: false, items: [only] };
    }

    return plan;
  };
})();
