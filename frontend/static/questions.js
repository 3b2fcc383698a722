// Toolpress console: the question a waiting run asks (an ask step's form, or a prompt for the caller's model),
// shown on the run page and in the test run, answered in the page (POST /runs/<id>/answer).
"use strict";

window.ToolpressQuestion = (() => {
  // The choices of an enum field: [value, label] pairs (enum, enum + enumNames, oneOf/anyOf of const/title).
  function choices(prop) {
    const titled = prop.oneOf || (prop.items && prop.items.anyOf);
    if (Array.isArray(titled)) return titled.map((o) => [o.const, o.title]);
    const values = prop.enum || (prop.items && prop.items.enum) || [];
    return values.map((v, i) => [v, (prop.enumNames && prop.enumNames[i]) || String(v)]);
  }

  function field(name, prop, required) {
    const id = `q-${name}`;
    const label = h("label", { for: id, text: `${prop.title || name}${required ? " *" : ""}` });
    const options = choices(prop);
    let input;
    if (prop.type === "boolean") {
      input = h("input", { id, name, type: "checkbox", checked: prop.default === true });
    } else if (prop.type === "array") {
      input = h("select", { id, name, multiple: true },
        options.map(([v, t]) => h("option", { value: v, text: t, selected: (prop.default || []).includes(v) })));
    } else if (options.length) {
      input = h("select", { id, name }, h("option", { value: "", text: required ? "choose…" : "(none)" }),
        options.map(([v, t]) => h("option", { value: v, text: t, selected: prop.default === v })));
    } else {
      const numeric = prop.type === "number" || prop.type === "integer";
      input = h("input", { id, name, type: numeric ? "number" : "text", step: prop.type === "integer" ? "1" : "any",
        value: prop.default !== undefined ? String(prop.default) : undefined });
    }
    const hint = prop.description ? h("p", { class: "hint", text: prop.description }) : null;
    return h("div", { class: "field" }, label, input, hint);
  }

  function values(form, schema) {
    const content = {};
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (prop.type === "boolean") content[name] = input.checked;
      else if (prop.type === "array") content[name] = [...input.selectedOptions].map((o) => o.value);
      else if (input.value === "") continue;
      else if (prop.type === "number" || prop.type === "integer") content[name] = Number(input.value);
      else content[name] = input.value;
    }
    return content;
  }

  function body(question) {
    const params = question.params || {};
    if (question.kind === "sample") {
      const prompt = (params.messages || []).map((m) => (m.content && m.content.text) || "").join("\n\n");
      return [
        h("p", { text: "The app asks the caller's model. Answer in its place:" }),
        params.systemPrompt ? h("p", { class: "hint", text: `System: ${params.systemPrompt}` }) : null,
        h("pre", { class: "json", id: "question-prompt" }, h("code", { text: prompt })),
        h("div", { class: "field" }, h("label", { for: "q-reply", text: "The model's reply" }),
          h("textarea", { id: "q-reply", name: "reply", rows: 4 })),
      ];
    }
    const schema = params.requestedSchema || {};
    const required = new Set(schema.required || []);
    return [h("p", { id: "question-message", text: params.message || "" }),
      ...Object.entries(schema.properties || {}).map(([name, prop]) => field(name, prop, required.has(name)))];
  }

  // Show `run`'s question in `box` (once per question), or hide the box; `send(action, content)` answers it.
  function show(box, run, send) {
    const question = run.status === "waiting_for_input" ? run.question : null;
    if (!question) { box.hidden = true; box.dataset.question = ""; return; }
    if (box.dataset.question === question.id) return;
    box.dataset.question = question.id;
    const form = h("form", { id: "question-form", class: "stack" }, body(question),
      h("p", { class: "hint", text: run.waiting_until ? `Waits until ${run.waiting_until.replace("T", " ").slice(0, 19)} UTC.` : "" }),
      h("div", { class: "row" },
        h("button", { type: "submit", id: "question-accept", text: question.kind === "sample" ? "Send reply" : "Answer" }),
        h("button", { type: "button", id: "question-decline", class: "secondary", text: "Decline" }),
        question.kind === "sample" ? null : h("button", { type: "button", id: "question-cancel", class: "secondary", text: "Cancel" })),
      h("p", { id: "question-error", class: "alert error", hidden: true }));
    const answer = async (action) => {
      const schema = (question.params || {}).requestedSchema || {};
      const content = question.kind === "sample" ? form.querySelector("#q-reply").value : values(form, schema);
      const error = await send(question.id, action, action === "accept" ? content : null);
      form.querySelector("#question-error").hidden = !error;
      form.querySelector("#question-error").textContent = error || "";
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); answer("accept"); });
    form.querySelector("#question-decline").addEventListener("click", () => answer("decline"));
    const cancel = form.querySelector("#question-cancel");
    if (cancel) cancel.addEventListener("click", () => answer("cancel"));
    box.querySelector(".question-body").replaceChildren(form);
    box.hidden = false;
  }

  return { show };
})();
