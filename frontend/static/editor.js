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
    if (kind === "code") {
      input = h("textarea", { id, rows: 12, spellcheck: "false", class: "code", wrap: "off", autocapitalize: "off" });
      input.value = show(value);
      indentWithTab(input);
    } else if (kind === "textarea" || kind === "json" || kind === "lines") {
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
      : kind === "code"
      ? h("div", { class: "field", "data-path": path }, labelNode, input,
        h("p", { class: "hint", text: "Tab indents, Shift+Tab outdents; press Esc, then Tab, to leave the box." }), hint)
      : h("div", { class: "field", "data-path": path }, labelNode, input, hint);
    return wrap;
  }

  // Tab and Shift+Tab indent and outdent the selected lines of a code box; Esc, then Tab, leaves the box.
  function indentWithTab(box) {
    const UNIT = "    ";
    let leaving = false;
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { leaving = true; return; }
      if (event.key !== "Tab" || leaving || event.altKey || event.ctrlKey || event.metaKey) { leaving = false; return; }
      event.preventDefault();
      const text = box.value;
      const start = box.selectionStart;
      const end = box.selectionEnd;
      const lineStart = text.lastIndexOf("\n", start - 1) + 1;
      if (!event.shiftKey && start === end) {
        box.setRangeText(UNIT, start, end, "end");
      } else {
        const block = text.slice(lineStart, end);
        const lines = block.split("\n");
        const changed = lines.map((line) => event.shiftKey ? line.replace(/^( {1,4}|\t)/, "") : UNIT + line);
        box.setRangeText(changed.join("\n"), lineStart, end, "select");
      }
      box.dispatchEvent(new Event("input"));
    });
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

  // mcp_tool: ask the step's server for its tools, pick one, and fill its arguments from the tool's inputSchema.
  const remoteTools = new Map(); // step id -> the tools its server listed (kept on this page only)
  function remoteToolPicker(step, path) {
    const id = idFor(`${path}.remote`);
    const status = h("p", { class: "hint", id: `${id}-status`, role: "status", "aria-live": "polite" });
    const list = async () => {
      status.textContent = "Asking the server for its tools…";
      try {
        const { status: code, data } = await post(`/apps/${appId}/editor/mcp-tools`,
          { url: step.url || "", headers: step.headers || {} });
        if (code !== 200 || !data.ok) { status.textContent = (data && data.error) || "The server could not be asked."; return; }
        remoteTools.set(step.id, data.tools);
        if (!data.tools.some((t) => t.name === step.tool) && data.tools.length) { step.tool = data.tools[0].name; changed(); }
        renderSteps();
        const again = $(`${id}-tool`);
        if (again) again.focus();
      } catch (err) { status.textContent = err.message; }
    };
    const button = h("button", { type: "button", class: "small", onclick: list }, "List the server's tools");
    const tools = remoteTools.get(step.id);
    if (!tools) return h("div", { class: "remote-tools" }, button, status);
    status.textContent = `${tools.length} tool${tools.length === 1 ? "" : "s"} on this server.`;
    const select = h("select", { id: `${id}-tool` }, tools.map((t) => h("option", { value: t.name, text: t.name })));
    select.value = step.tool || "";
    select.addEventListener("change", () => { step.tool = select.value; step.arguments = {}; changed(); renderSteps(); });
    const chosen = tools.find((t) => t.name === step.tool);
    const schema = (chosen && chosen.inputSchema) || {};
    const required = new Set(schema.required || []);
    if (!step.arguments || typeof step.arguments !== "object") step.arguments = {};
    // keep the step's JSON "arguments" box in step with the form (without re-rendering under the cursor)
    const syncJson = () => { const box = $(idFor(`${path}.arguments`)); if (box) box.value = asJsonText(step.arguments); };
    const args = Object.entries(schema.properties || {}).map(([name, prop]) => {
      const wrap = field({
        obj: step.arguments, key: name, path: `${path}.arguments.${name}`, label: name,
        kind: prop.type === "object" || prop.type === "array" ? "json" : "text", required: required.has(name),
        help: [prop.type, prop.description, "A value or a template such as {{ inputs.x }}."].filter(Boolean).join(" · "),
      });
      wrap.querySelector("input, textarea").addEventListener("input", syncJson);
      return wrap;
    });
    return h("div", { class: "remote-tools" }, button, status,
      h("div", { class: "field" }, h("label", { for: `${id}-tool`, text: "Remote tool" }), select,
        chosen && chosen.description ? h("p", { class: "hint", text: chosen.description }) : null),
      args.length ? h("fieldset", { class: "arguments" }, h("legend", { text: `Arguments of ${step.tool}` }), args) : null);
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
          step.type === "mcp_tool" ? remoteToolPicker(step, path) : null,
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

  // outputs that carry bytes (workflows/content.py): image, audio, file and resource
  const BYTE_OUTPUTS = ["image", "audio", "file", "resource"];

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
            field({ obj: out, key: "type", path: `${path}.type`, label: "Type", kind: "select", options: cat.outputTypes, required: true, rerender: renderOutputs })),
          field({ obj: out, key: "description", path: `${path}.description`, label: "Description", kind: "textarea" }),
          field({ obj: out, key: "value", path: `${path}.value`, label: "Value", kind: "textarea", help: "A template, e.g. {{ steps.step_id.text }}." }),
          BYTE_OUTPUTS.includes(out.type) ? h("div", { class: "row" },
            field({ obj: out, key: "mime_type", path: `${path}.mime_type`, label: "MIME type", placeholder: out.type === "audio" ? "audio/wav" : "image/png",
              help: "For a value that does not say its type (text such as an SVG); a file or data: URI says its own." }),
            out.type === "resource" ? field({ obj: out, key: "uri", path: `${path}.uri`, label: "URI", placeholder: "notes://today", required: true }) : null) : null,
          moveButtons(list, i, `output ${out.name || i + 1}`, renderOutputs)));
    }));
  }

  // ---- prompts and resources ------------------------------------------------------------------------
  const CONTENT_KINDS = ["text", "image", "resource"];
  const contentKind = (m) => CONTENT_KINDS.find((k) => m[k] !== undefined) || "text";

  function renderPrompts() {
    spec.prompts = spec.prompts || [];
    const list = spec.prompts;
    $("prompts").replaceChildren(...list.map((prompt, i) => {
      const path = `prompts[${i}]`;
      prompt.arguments = prompt.arguments || [];
      const args = prompt.arguments.map((arg, j) => {
        const ap = `${path}.arguments[${j}]`;
        return h("li", { "data-path": ap },
          h("fieldset", {},
            h("legend", { text: `Argument ${j + 1}${arg.name ? ": " + arg.name : ""}` }),
            h("div", { class: "row" },
              field({ obj: arg, key: "name", path: `${ap}.name`, label: "Name", required: true }),
              field({ obj: arg, key: "required", path: `${ap}.required`, label: "Required", kind: "checkbox" })),
            field({ obj: arg, key: "description", path: `${ap}.description`, label: "Description" }),
            field({ obj: arg, key: "values", path: `${ap}.values`, label: "Allowed values (one per line)", kind: "lines" }),
            field({ obj: arg, key: "suggestions", path: `${ap}.suggestions`, label: "Suggestions (one per line)", kind: "lines",
                    help: "Offered as completions while the user types." }),
            moveButtons(prompt.arguments, j, `argument ${arg.name || j + 1}`, renderPrompts)));
      });
      prompt.messages = prompt.messages || [];
      const messages = prompt.dynamic ? [] : prompt.messages.map((m, j) => {
        const mp = `${path}.messages[${j}]`;
        const kind = contentKind(m);
        const kindPicker = { kind: contentKind(m) };
        const body = kind === "text"
          ? [field({ obj: m, key: "text", path: `${mp}.text`, label: "Text", kind: "textarea", required: true })]
          : kind === "image"
            ? [field({ obj: m.image, key: "uri", path: `${mp}.image.uri`, label: "Image resource URI", help: "One of the app's file resources." })]
            : [field({ obj: m.resource, key: "uri", path: `${mp}.resource.uri`, label: "Resource URI", required: true, help: "One of the app's resources, or any URI with the text below." }),
               field({ obj: m.resource, key: "text", path: `${mp}.resource.text`, label: "Text (optional)", kind: "textarea" })];
        return h("li", { "data-path": mp },
          h("fieldset", {},
            h("legend", { text: `Message ${j + 1}` }),
            h("div", { class: "row" },
              field({ obj: m, key: "role", path: `${mp}.role`, label: "Role", kind: "select", options: ["user", "assistant"], required: true }),
              field({ obj: kindPicker, key: "kind", path: `${mp}.(kind)`, label: "Content", kind: "select", options: CONTENT_KINDS, required: true, rerender: () => {
                for (const k of CONTENT_KINDS) delete m[k];
                m[kindPicker.kind] = kindPicker.kind === "text" ? "" : { uri: "" };
                changed(); renderPrompts();
              } })),
            body,
            moveButtons(prompt.messages, j, `message ${j + 1}`, renderPrompts)));
      });
      return h("li", { "data-path": path },
        h("fieldset", {},
          h("legend", { text: `Prompt ${i + 1}${prompt.name ? ": " + prompt.name : ""}` }),
          h("div", { class: "row" },
            field({ obj: prompt, key: "name", path: `${path}.name`, label: "Name", required: true, help: "The slash command (letters, digits, _ and -)." }),
            field({ obj: prompt, key: "title", path: `${path}.title`, label: "Title" })),
          field({ obj: prompt, key: "description", path: `${path}.description`, label: "Description", kind: "textarea" }),
          field({ obj: prompt, key: "dynamic", path: `${path}.dynamic`, label: "Dynamic: run the workflow to produce the messages", kind: "checkbox", rerender: () => {
            if (prompt.dynamic) delete prompt.messages; else prompt.messages = [{ role: "user", text: "" }];
            renderPrompts(); renderTry();
          } }),
          h("p", { class: "sub", text: "Arguments" }), h("ol", { class: "items" }, args),
          h("button", { type: "button", class: "small", onclick: () => { prompt.arguments.push({ name: `arg_${prompt.arguments.length + 1}` }); changed(); renderPrompts(); } }, "Add argument"),
          prompt.dynamic ? null : h("p", { class: "sub", text: "Messages" }),
          prompt.dynamic ? null : h("ol", { class: "items" }, messages),
          prompt.dynamic ? null : h("button", { type: "button", class: "small", onclick: () => { prompt.messages.push({ role: "user", text: "" }); changed(); renderPrompts(); } }, "Add message"),
          moveButtons(list, i, `prompt ${prompt.name || i + 1}`, renderPrompts)));
    }));
    renderTry();
  }

  function fileField(resource, path) {
    const id = idFor(`${path}.file`);
    const input = h("input", { id, type: "file" });
    input.addEventListener("change", () => {
      const file = input.files[0];
      if (!file) return;
      const reader = new FileReader();
      reader.onload = () => {
        resource.blob = String(reader.result).split(",", 2)[1] || "";
        delete resource.text;
        if (!resource.mime_type && file.type) resource.mime_type = file.type;
        changed(); renderResources();
      };
      reader.readAsDataURL(file);
    });
    return h("div", { class: "field", "data-path": `${path}.blob` },
      h("label", { for: id, text: resource.blob ? `File (${Math.floor(resource.blob.length * 3 / 4)} bytes uploaded; pick another to replace)` : "Or upload a file" }), input);
  }

  function renderResources() {
    spec.resources = spec.resources || [];
    const list = spec.resources;
    $("resources").replaceChildren(...list.map((r, i) => {
      const path = `resources[${i}]`;
      return h("li", { "data-path": path },
        h("fieldset", {},
          h("legend", { text: `Resource ${i + 1}${r.name ? ": " + r.name : ""}` }),
          h("div", { class: "row" },
            field({ obj: r, key: "uri", path: `${path}.uri`, label: "URI", required: true }),
            field({ obj: r, key: "name", path: `${path}.name`, label: "Name", required: true })),
          h("div", { class: "row" },
            field({ obj: r, key: "title", path: `${path}.title`, label: "Title" }),
            field({ obj: r, key: "mime_type", path: `${path}.mime_type`, label: "MIME type" })),
          field({ obj: r, key: "description", path: `${path}.description`, label: "Description" }),
          r.blob === undefined ? field({ obj: r, key: "text", path: `${path}.text`, label: "Text", kind: "textarea" }) : null,
          fileField(r, path),
          moveButtons(list, i, `resource ${r.name || i + 1}`, renderResources)));
    }));
    renderTry();
  }

  function renderTemplates() {
    spec.resource_templates = spec.resource_templates || [];
    const list = spec.resource_templates;
    $("resource-templates").replaceChildren(...list.map((t, i) => {
      const path = `resource_templates[${i}]`;
      return h("li", { "data-path": path },
        h("fieldset", {},
          h("legend", { text: `Template ${i + 1}${t.name ? ": " + t.name : ""}` }),
          h("div", { class: "row" },
            field({ obj: t, key: "uri_template", path: `${path}.uri_template`, label: "URI template", required: true, help: "e.g. notes://{topic}: each {variable} is an input." }),
            field({ obj: t, key: "name", path: `${path}.name`, label: "Name", required: true })),
          h("div", { class: "row" },
            field({ obj: t, key: "mime_type", path: `${path}.mime_type`, label: "MIME type" }),
            field({ obj: t, key: "output", path: `${path}.output`, label: "Output", help: "The output that is the content (default: the first)." })),
          field({ obj: t, key: "description", path: `${path}.description`, label: "Description" }),
          field({ obj: t, key: "completions", path: `${path}.completions`, label: "Completions (JSON: variable → values)", kind: "json" }),
          moveButtons(list, i, `template ${t.name || i + 1}`, renderTemplates)));
    }));
  }

  function showCatalog(catalog) {
    if (!catalog) return;
    $("live-prompts").textContent = JSON.stringify({ prompts: catalog.prompts }, null, 2);
    $("live-resources").textContent = JSON.stringify({ resources: catalog.resources }, null, 2);
    $("live-templates").textContent = JSON.stringify({ resourceTemplates: catalog.resourceTemplates }, null, 2);
  }

  // ---- try this prompt ---------------------------------------------------------------------------
  const tryValues = {};

  function renderTry() {
    const prompts = spec.prompts || [];
    const select = $("try-name");
    const chosen = select.value;
    select.replaceChildren(...prompts.map((p) => h("option", { value: p.name, text: p.title ? `${p.name} (${p.title})` : p.name })));
    if (prompts.some((p) => p.name === chosen)) select.value = chosen;
    const prompt = prompts.find((p) => p.name === select.value);
    $("try-run").disabled = !prompt;
    $("try-arguments").replaceChildren(...(prompt ? prompt.arguments || [] : []).map((arg) => {
      const id = idFor(`try-${arg.name}`);
      const input = h("input", { id, type: "text", list: arg.values || arg.suggestions ? `${id}-list` : null });
      input.value = tryValues[arg.name] || "";
      input.addEventListener("input", () => { tryValues[arg.name] = input.value; });
      const options = arg.values || arg.suggestions;
      return h("div", { class: "field" },
        h("label", { for: id, text: arg.name + (arg.required ? " *" : "") }), input,
        options ? h("datalist", { id: `${id}-list` }, options.map((v) => h("option", { value: v }))) : null,
        arg.description ? h("p", { class: "hint", text: arg.description }) : null);
    }));
  }

  function showMessages(messages) {
    $("try-messages").replaceChildren(...messages.map((m, i) => {
      const c = m.content;
      const body = c.type === "text" ? h("pre", { class: "message-text", text: c.text })
        : c.type === "image" ? h("img", { src: `data:${c.mimeType};base64,${c.data}`, alt: `Image ${i + 1} (${c.mimeType})` })
          : h("pre", { class: "message-text", text: `[${c.resource.uri}] ${c.resource.text !== undefined ? c.resource.text : "(binary " + c.resource.mimeType + ")"}` });
      return h("li", { class: "message" }, h("strong", { text: `${m.role}` }), body);
    }));
  }

  async function tryPrompt() {
    const name = $("try-name").value;
    const prompt = (spec.prompts || []).find((p) => p.name === name);
    if (!prompt) return;
    const args = {};
    for (const arg of prompt.arguments || []) if (tryValues[arg.name]) args[arg.name] = tryValues[arg.name];
    if (dirty) await save();
    $("try-messages").replaceChildren();
    $("try-status").textContent = "Rendering…";
    try {
      const { status, data } = await post(`/apps/${appId}/prompts/try`, { name, arguments: args });
      if (status >= 400) { $("try-status").textContent = data.error || "Could not render the prompt."; return; }
      if (data.messages) { showMessages(data.messages); $("try-status").textContent = "Rendered (no templates: no run needed)."; return; }
      const source = new EventSource(data.events);
      source.addEventListener("run", async (event) => {
        const run = JSON.parse(event.data);
        if (!run.terminal) { $("try-status").textContent = `Rendering in a test run (${run.status})…`; return; }
        source.close();
        const res = await fetch(`/apps/${appId}/prompts/try/${data.run_id}`, { credentials: "same-origin", cache: "no-store" });
        const done = await res.json();
        if (!res.ok) { $("try-status").textContent = done.error || "The prompt run failed."; return; }
        showMessages(done.messages);
        $("try-status").textContent = "Rendered in a test run.";
      });
    } catch (err) { $("try-status").textContent = err.message; }
  }

  function focusLast(listId) {
    const items = $(listId).children;
    const last = items[items.length - 1];
    const first = last && last.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  function renderAll() {
    renderDetails(); renderInputs(); renderSteps(); renderOutputs(); renderPrompts(); renderResources(); renderTemplates();
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
      showCatalog(data.catalog);
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
      showCatalog(data.catalog);
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
  $("add-prompt").addEventListener("click", () => {
    spec.prompts = spec.prompts || [];
    spec.prompts.push({ name: `prompt_${spec.prompts.length + 1}`, description: "", arguments: [], messages: [{ role: "user", text: "" }] });
    changed(); renderPrompts(); focusLast("prompts");
  });
  $("add-resource").addEventListener("click", () => {
    spec.resources = spec.resources || [];
    const n = spec.resources.length + 1;
    spec.resources.push({ uri: `docs://resource-${n}`, name: `resource-${n}`, mime_type: "text/plain", text: "" });
    changed(); renderResources(); focusLast("resources");
  });
  $("add-template").addEventListener("click", () => {
    spec.resource_templates = spec.resource_templates || [];
    spec.resource_templates.push({ uri_template: "", name: `template-${spec.resource_templates.length + 1}` });
    changed(); renderTemplates(); focusLast("resource-templates");
  });
  $("try-name").addEventListener("change", renderTry);
  $("try-run").addEventListener("click", tryPrompt);
  $("error-summary").tabIndex = -1;
  window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  renderAll();
  renderPalette();
  showTool(JSON.parse($("tool-data").textContent));
  showCatalog(JSON.parse($("catalog-data").textContent));
});
