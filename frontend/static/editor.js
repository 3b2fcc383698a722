// Toolpress app editor: form and YAML views of one draft, checked by the server as you type. No dependencies.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("editor");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const appId = root.dataset.app;
  const csrf = root.dataset.csrf;
  const cat = JSON.parse($("catalogue-data").textContent);
  const stepTypes = Object.fromEntries(cat.steps.map((s) => [s.type, s]));
  let spec = JSON.parse($("spec-data").textContent);
  let view = "form";
  let dirty = false;
  let timer = null;
  let seq = 0;

  const NUMERIC = new Set(["min_length", "max_length", "min_items", "max_items", "minimum", "maximum",
    "exclusive_minimum", "exclusive_maximum", "multiple_of"]);
  const CONSTRAINT_LABELS = {
    min_length: "Minimum length", max_length: "Maximum length", pattern: "Pattern (regular expression)",
    format: "Format (e.g. email, date, uri)", minimum: "Minimum", maximum: "Maximum",
    exclusive_minimum: "Greater than", exclusive_maximum: "Less than", multiple_of: "Multiple of",
    values: "Allowed values (one per line)", items: "Item type (JSON, e.g. {\"type\": \"string\"})",
    min_items: "Minimum items", max_items: "Maximum items", unique_items: "Items must be unique",
    properties: "Properties (JSON Schema properties map)",
  };

  // ---- small DOM helpers -------------------------------------------------------------------------
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }
  const idFor = (path) => "f-" + path.replace(/[^a-zA-Z0-9]+/g, "-").replace(/-$/, "");
  const show = (value) => (value === undefined || value === null ? "" : value);
  const asJsonText = (value) => (value === undefined || value === null ? ""
    : typeof value === "string" ? value : JSON.stringify(value, null, 2));

  function parse(kind, input) {
    if (kind === "checkbox") return input.checked;
    const raw = input.value;
    if (raw.trim() === "") return undefined;
    if (kind === "number") { const n = Number(raw); return Number.isFinite(n) ? n : raw; }
    if (kind === "json") { try { return JSON.parse(raw); } catch (_) { return raw; } }
    if (kind === "lines") return raw.split("\n").map((v) => v.trim()).filter(Boolean);
    if (kind === "bool") return raw === "true";
    return raw;
  }

  function put(obj, key, value) {
    if (value === undefined || value === "" || (value === false && key === "unique_items")) delete obj[key];
    else obj[key] = value;
  }

  // A new step of these types starts valid, so it is not flagged before it is touched (a transform needs one of
  // `expression` or `fields`; neither is required on its own).
  const STARTERS = { transform: { expression: "inputs" } };

  // What each input type means to the caller, under the type picker (string vs text is the usual question).
  const TYPE_HELP = {
    string: "One line of text (a name, an id, a URL).",
    text: "Several lines of text (a message, a document): a multi-line box in forms, marked x-multiline for clients.",
    number: "Any number, decimals allowed.", integer: "A whole number.", boolean: "true or false.",
    enum: "One value from a fixed list.", array: "A list of values.", object: "A JSON object.",
    file: "A file, given as an https URL or a data: URI with base64 content.",
  };

  // One labelled control bound to obj[key]; `path` is the spec path the server's errors use.
  function field({ obj, key, path, label, kind = "text", options, help, required, rerender, placeholder }) {
    const id = idFor(path);
    const value = obj[key];
    let input;
    if (kind === "textarea" || kind === "json" || kind === "lines") {
      const text = kind === "lines" ? (Array.isArray(value) ? value.join("\n") : show(value)) : kind === "json" ? asJsonText(value) : show(value);
      input = h("textarea", { id, rows: 3, spellcheck: kind === "textarea" ? null : "false", placeholder });
      input.value = text;
    } else if (kind === "select" || kind === "bool") {
      const opts = kind === "bool" ? [["", "not set"], ["true", "true"], ["false", "false"]]
        : [...(required ? [] : [["", "(default)"]]), ...options.map((o) => [String(o), String(o)])];
      input = h("select", { id }, opts.map(([v, t]) => h("option", { value: v, text: t })));
      input.value = value === undefined || value === null ? "" : String(value);
    } else if (kind === "checkbox") {
      input = h("input", { id, type: "checkbox" });
      input.checked = Boolean(value);
    } else {
      input = h("input", { id, type: kind === "number" ? "number" : "text", step: kind === "number" ? "any" : null });
      input.value = show(value);
    }
    if (required) input.setAttribute("aria-required", "true");
    const hint = help ? h("p", { class: "hint", id: `${id}-hint`, text: help }) : null;
    if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
    input.addEventListener(kind === "checkbox" || kind === "select" || kind === "bool" ? "change" : "input", () => {
      put(obj, key, parse(kind, input));
      changed();
      if (rerender) { rerender(); const again = $(id); if (again) again.focus(); }
    });
    const labelNode = h("label", { for: id, text: label + (required ? " *" : "") });
    const wrap = kind === "checkbox"
      ? h("div", { class: "field check", "data-path": path }, input, labelNode, hint)
      : h("div", { class: "field", "data-path": path }, labelNode, input, hint);
    return wrap;
  }

  // Renaming an input or a step: offer to rewrite what refers to it (`inputs.old…`, `steps.old…`) instead of
  // leaving those references broken. `wrap` is the name field from field().
  function rewriteStrings(value, pattern, replacement) {
    if (typeof value === "string") return value.replace(pattern, replacement);
    if (Array.isArray(value)) return value.map((v) => rewriteStrings(v, pattern, replacement));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteStrings(v, pattern, replacement)]));
    }
    return value;
  }

  function offerRename(wrap, scope, obj, key) {
    const input = wrap.querySelector("input");
    let before = obj[key];
    input.addEventListener("focus", () => { before = obj[key]; });
    input.addEventListener("change", () => {
      const after = obj[key];
      wrap.querySelectorAll(".rename-offer").forEach((old) => old.remove());
      if (!before || !after || before === after || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(before)) return;
      const pattern = new RegExp(`\\b${scope}\\.${before}\\b`, "g");
      const count = (JSON.stringify(spec).match(pattern) || []).length;
      if (count === 0) return;
      const renamed = `${scope}.${after}`;
      const offer = h("p", { class: "rename-offer", role: "status" },
        `${count} reference${count === 1 ? " still uses" : "s still use"} ${scope}.${before}. `,
        h("button", { type: "button", class: "small", onclick: () => {
          for (const section of ["inputs", "steps", "outputs"]) spec[section] = rewriteStrings(spec[section], pattern, renamed);
          changed();
          renderAll();
        } }, `Update to ${renamed}`), " ",
        h("button", { type: "button", class: "small", onclick: () => offer.remove() }, "Keep them"));
      wrap.append(offer);
    });
    return wrap;
  }

  function moveButtons(list, index, what, rerender) {
    const move = (delta) => () => {
      const [item] = list.splice(index, 1);
      list.splice(index + delta, 0, item);
      changed();
      rerender();
    };
    return h("div", { class: "item-actions" },
      h("button", { type: "button", class: "small", disabled: index === 0, onclick: move(-1), "aria-label": `Move ${what} up` }, "↑ Up"),
      h("button", { type: "button", class: "small", disabled: index === list.length - 1, onclick: move(1), "aria-label": `Move ${what} down` }, "↓ Down"),
      h("button", { type: "button", class: "small danger", onclick: () => { list.splice(index, 1); changed(); rerender(); }, "aria-label": `Remove ${what}` }, "Remove"));
  }

  // ---- sections ----------------------------------------------------------------------------------
  function renderDetails() {
    $("details").replaceChildren(
      field({ obj: spec, key: "name", path: "name", label: "Name", required: true }),
      field({ obj: spec, key: "title", path: "title", label: "Title", help: "A human-readable title clients may show." }),
      field({ obj: spec, key: "tool_name", path: "tool_name", label: "Tool name", help: "The name the model calls (letters, digits, _ and -). Empty: derived from the name." }),
      field({ obj: spec, key: "description", path: "description", label: "Description", kind: "textarea", help: "What it does and when a model should use it.",
        placeholder: "Describe what it does and when a model should call it, e.g. “Greets a person by name. Use when…”" }),
      field({ obj: spec, key: "time_limit", path: "time_limit", label: "Time limit (seconds)", kind: "number" }),
      field({ obj: spec, key: "tasks", path: "tasks", label: "Long runs", kind: "select", options: ["auto", "always", "never"],
              help: "For clients that support MCP tasks: answer a call with a task to poll instead of waiting. auto (the default): when the app's runs usually take longer than the server's threshold." }),
    );
  }

  function defaultKind(type) {
    if (type === "string" || type === "text" || type === "file") return "text";
    if (type === "number" || type === "integer") return "number";
    if (type === "boolean") return "bool";
    return "json";
  }

  function renderInputs() {
    spec.inputs = spec.inputs || [];
    const list = spec.inputs;
    $("inputs").replaceChildren(...list.map((item, i) => {
      const path = `inputs[${i}]`;
      const what = `input ${item.name || i + 1}`;
      const constraints = (cat.constraints[item.type] || []).map((c) => field({
        obj: item, key: c, path: `${path}.${c}`, label: CONSTRAINT_LABELS[c] || c,
        kind: NUMERIC.has(c) ? "number" : c === "values" ? "lines" : c === "unique_items" ? "checkbox" : (c === "items" || c === "properties") ? "json" : "text",
      }));
      return h("li", { "data-path": path },
        h("fieldset", {},
          h("legend", { text: `Input ${i + 1}${item.name ? ": " + item.name : ""}` }),
          h("div", { class: "row" },
            offerRename(field({ obj: item, key: "name", path: `${path}.name`, label: "Name", required: true }), "inputs", item, "name"),
            field({ obj: item, key: "type", path: `${path}.type`, label: "Type", kind: "select", options: cat.inputTypes, required: true,
              help: TYPE_HELP[item.type] || "", rerender: () => {
              const allowed = new Set(cat.constraints[item.type] || []);
              for (const c of Object.keys(CONSTRAINT_LABELS)) if (!allowed.has(c)) delete item[c];
              delete item.default;
              renderInputs();
            } }),
            field({ obj: item, key: "required", path: `${path}.required`, label: "Required", kind: "checkbox" })),
          field({ obj: item, key: "description", path: `${path}.description`, label: "Description", kind: "textarea", help: "Tell the model what to pass, with an example." }),
          field({ obj: item, key: "default", path: `${path}.default`, label: "Default", kind: defaultKind(item.type), help: "Used when the caller leaves it out (not for required inputs)." }),
          constraints.length ? h("div", { class: "constraints" }, h("p", { class: "sub", text: "Constraints" }), constraints) : null,
          moveButtons(list, i, what, renderInputs)));
    }));
  }

  function newStep(type) {
    const ids = new Set(spec.steps.map((s) => s.id));
    let n = 1;
    while (ids.has(`${type}_${n}`)) n += 1;
    const step = { id: `${type}_${n}`, type };
    for (const f of stepTypes[type].fields) {
      if (f.required) step[f.name] = f.kind === "json" ? (f.name === "values" || f.name === "inputs" ? {} : f.name === "branches" ? [{ when: "{{ true }}", steps: [] }] : []) : "";
    }
    return { ...step, ...(STARTERS[type] || {}) };
  }

  function renderSteps() {
    spec.steps = spec.steps || [];
    const list = spec.steps;
    $("steps").replaceChildren(...list.map((step, i) => {
      const path = `steps[${i}]`;
      const type = stepTypes[step.type];
      const fields = type ? type.fields.map((f) => field({
        obj: step, key: f.name, path: `${path}.${f.name}`, label: f.name.replace(/_/g, " "), kind: f.kind,
        options: f.options, required: f.required,
        help: [f.description, f.default !== null && f.default !== undefined && f.kind !== "checkbox" ? `Default: ${JSON.stringify(f.default)}` : ""].filter(Boolean).join(" "),
      })) : [h("p", { class: "field-error", text: `Unknown step type ${step.type}` })];
      return h("li", { "data-path": path, id: `step-${step.id}` },
        h("fieldset", {},
          h("legend", { text: `Step ${i + 1}: ${step.type}${step.title ? " – " + step.title : ""}` }),
          type ? h("p", { class: "hint", text: type.description }) : null,
          h("div", { class: "row" },
            offerRename(field({ obj: step, key: "id", path: `${path}.id`, label: "Step id", required: true, help: "Later steps use it: steps.<id>." }), "steps", step, "id"),
            field({ obj: step, key: "title", path: `${path}.title`, label: "Title", help: "Shown in progress messages." })),
          fields,
          field({ obj: step, key: "time_limit", path: `${path}.time_limit`, label: "Time limit (seconds)", kind: "number" }),
          moveButtons(list, i, `step ${step.id}`, renderSteps)));
    }));
  }

  function renderPalette() {
    $("palette").replaceChildren(...cat.steps.map((t) => h("button", {
      type: "button", class: "palette-item", "aria-describedby": `pal-${t.type}`,
      onclick: () => { spec.steps = spec.steps || []; spec.steps.push(newStep(t.type)); changed(); renderSteps(); focusLast("steps"); },
    }, h("strong", { text: t.type }), h("span", { id: `pal-${t.type}`, class: "hint", text: t.description }))));
  }

  function renderOutputs() {
    spec.outputs = spec.outputs || [];
    const list = spec.outputs;
    $("outputs").replaceChildren(...list.map((out, i) => {
      const path = `outputs[${i}]`;
      return h("li", { "data-path": path },
        h("fieldset", {},
          h("legend", { text: `Output ${i + 1}${out.name ? ": " + out.name : ""}` }),
          h("div", { class: "row" },
            field({ obj: out, key: "name", path: `${path}.name`, label: "Name", required: true }),
            field({ obj: out, key: "type", path: `${path}.type`, label: "Type", kind: "select", options: cat.outputTypes, required: true })),
          field({ obj: out, key: "description", path: `${path}.description`, label: "Description", kind: "textarea" }),
          field({ obj: out, key: "value", path: `${path}.value`, label: "Value", kind: "textarea", help: "A template, e.g. {{ steps.step_id.text }}." }),
          moveButtons(list, i, `output ${out.name || i + 1}`, renderOutputs)));
    }));
  }

  function focusLast(listId) {
    const items = $(listId).children;
    const last = items[items.length - 1];
    const first = last && last.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  function renderAll() {
    renderDetails(); renderInputs(); renderSteps(); renderOutputs();
  }

  // ---- checking, errors and the live schema --------------------------------------------------------
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (res.status === 401) throw new Error("Your session ended: log in again (your edits stay on this page).");
    if (!data || (res.status >= 500)) throw new Error("The server could not check the draft; try again.");
    return { status: res.status, data };
  }

  const body = () => (view === "yaml" ? { yaml: $("yaml-text").value } : { spec });

  function setState(text) { $("editor-state").textContent = text; }

  function clearErrors() {
    root.querySelectorAll(".field-error.live").forEach((n) => n.remove());
    root.querySelectorAll("[aria-invalid]").forEach((n) => {
      n.removeAttribute("aria-invalid");
      const ids = (n.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("err-"));
      if (ids.length) n.setAttribute("aria-describedby", ids.join(" ")); else n.removeAttribute("aria-describedby");
    });
  }

  function placeFor(path) {
    let p = path;
    while (p) {
      const found = root.querySelector(`[data-path="${CSS.escape(p)}"]`);
      if (found && (view === "form" || p === "(yaml)")) return found;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) break;
      p = p.slice(0, cut);
    }
    return null;
  }

  function showErrors(errors) {
    clearErrors();
    const list = $("error-list");
    list.replaceChildren();
    errors.forEach((err, n) => {
      const target = view === "yaml" ? $("yaml-text").closest("section") : placeFor(err.path);
      const errId = `err-${n}`;
      const text = `${err.where || err.path}: ${err.message}`;
      if (target) {
        const msg = h("p", { class: "field-error live", id: errId, text: err.message });
        const control = target.matches("li") ? target.querySelector("legend") : target.querySelector("input, textarea, select");
        if (target.matches("li")) target.querySelector("fieldset").prepend(msg);
        else target.append(msg);
        if (control && control.matches("input, textarea, select")) {
          control.setAttribute("aria-invalid", "true");
          control.setAttribute("aria-describedby", `${control.getAttribute("aria-describedby") || ""} ${errId}`.trim());
        }
        const focusable = control && control.matches("input, textarea, select") ? control : null;
        list.append(h("li", {}, focusable ? h("a", { href: `#${focusable.id}`, text }) : text));
      } else {
        list.append(h("li", { text }));
      }
    });
    $("error-summary").hidden = errors.length === 0;
  }

  function showTool(tool) {
    if (tool) {
      $("live-tool-name").textContent = tool.name;
      $("live-input-schema").textContent = JSON.stringify(tool.inputSchema, null, 2);
      $("live-output-schema").textContent = JSON.stringify(tool.outputSchema, null, 2);
      $("schema-note").textContent = "Updated as you type.";
    } else {
      $("schema-note").textContent = "Showing the last valid version: fix the errors to update it.";
    }
  }

  async function check() {
    const mine = ++seq;
    try {
      const { data } = await post(`/apps/${appId}/editor/check`, body());
      if (mine !== seq) return data;
      showErrors(data.errors || []);
      showTool(data.tool);
      if (view === "yaml" && data.spec) spec = data.spec;
      return data;
    } catch (err) { setState(err.message); return null; }
  }

  function changed() {
    dirty = true;
    setState("Unsaved changes.");
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }

  async function save() {
    clearTimeout(timer);
    setState("Saving…");
    try {
      const { status, data } = await post(`/apps/${appId}/draft`, body());
      showErrors(data.errors || []);
      showTool(data.tool);
      if (status === 200) {
        dirty = false;
        if (data.spec) spec = data.spec;
        setState("Draft saved.");
      } else {
        setState("Not saved: fix the problems listed above. Your edits are still here.");
        $("error-summary").focus();
      }
    } catch (err) { setState(err.message); }
  }

  async function switchTo(next) {
    if (next === view) return;
    if (next === "yaml") {
      const { data } = await post(`/apps/${appId}/editor/check`, { spec });
      $("yaml-text").value = data.yaml || "";
      view = "yaml";
    } else {
      const { data } = await post(`/apps/${appId}/editor/check`, { yaml: $("yaml-text").value });
      if (!data.spec) { showErrors(data.errors || []); setState("Fix the YAML before switching back to the form."); return; }
      spec = data.spec;
      view = "form";
      renderAll();
      showErrors(data.errors || []);
    }
    $("form-view").hidden = view !== "form";
    $("yaml-view").hidden = view !== "yaml";
    for (const [tab, name] of [[$("tab-form"), "form"], [$("tab-yaml"), "yaml"]]) {
      tab.setAttribute("aria-selected", String(view === name));
      tab.tabIndex = view === name ? 0 : -1;
    }
    check();
  }

  $("tab-form").addEventListener("click", () => switchTo("form"));
  $("tab-yaml").addEventListener("click", () => switchTo("yaml"));
  root.querySelector("[role=tablist]").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = view === "form" ? "yaml" : "form";
    switchTo(next).then(() => $(`tab-${next}`).focus());
  });
  $("yaml-text").addEventListener("input", () => changed());
  $("add-input").addEventListener("click", () => {
    spec.inputs = spec.inputs || [];
    const names = new Set(spec.inputs.map((f) => f.name));
    let n = spec.inputs.length + 1;
    while (names.has(`input_${n}`)) n += 1;
    spec.inputs.push({ name: `input_${n}`, type: "string", required: false });
    changed(); renderInputs(); focusLast("inputs");
  });
  $("add-output").addEventListener("click", () => {
    spec.outputs = spec.outputs || [];
    spec.outputs.push({ name: `output_${spec.outputs.length + 1}`, type: "string", value: "" });
    changed(); renderOutputs(); focusLast("outputs");
  });
  $("save-draft").addEventListener("click", save);
  $("error-summary").tabIndex = -1;
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  renderAll();
  renderPalette();
  showTool(JSON.parse($("tool-data").textContent));
});
