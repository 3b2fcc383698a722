// Toolpress console: the test-run form, live run progress (server-sent events) and the live runs list.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);

  async function postJson(url, csrf, body) {
    const res = await fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    return { status: res.status, data };
  }

  // ---- the workflow diagram: each step's box coloured by its state in the run -------------------------
  const STATES = ["waiting", "running", "done", "failed", "skipped"];
  const FROM_TRACE = { succeeded: "done", failed: "failed", skipped: "skipped", cancelled: "failed" };

  function stateOf(box, run, trace, tops) {
    const id = box.dataset.step;
    const parent = box.dataset.parent;
    const mine = trace.filter((t) => t.step_id === id && (parent.endsWith("[]")
      ? (t.parent || "").startsWith(parent.slice(0, -2) + "[") : (t.parent || "") === parent));
    if (mine.length) {
      if (mine.some((t) => t.status === "failed" || t.status === "cancelled")) return "failed";
      if (mine.every((t) => t.status === "skipped")) return "skipped";
      return FROM_TRACE[mine[mine.length - 1].status] || "done";
    }
    if (parent) return "waiting";
    const index = tops.indexOf(box);
    const done = run.progress_done || 0;
    if (index < done) return "done";
    if (index === done && run.status === "running") return "running";
    return run.terminal && run.status !== "succeeded" && index === done ? "failed" : "waiting";
  }

  function paintDiagram(run, trace) {
    const boxes = [...document.querySelectorAll(".dg-box[data-step]")];
    const tops = boxes.filter((box) => !box.dataset.parent);
    for (const box of boxes) {
      const state = stateOf(box, run, trace, tops);
      box.classList.remove(...STATES.map((s) => `dg-${s}`));
      box.classList.add(`dg-${state}`);
      box.dataset.state = state;
    }
  }

  // ---- one run, followed live ----------------------------------------------------------------------
  function follower(csrf, onEnd) {
    const seen = [];
    let sawLive = false;
    let current = null;
    let source = null;
    let poll = null;
    let renders = 0;  // a POST's reply is older than any state the stream showed while it was in flight

    function render(run) {
      renders += 1;
      current = run;
      $("run-live") && ($("run-live").hidden = false);
      const status = $("run-status");
      status.textContent = run.status;
      status.className = `badge st-${run.status}`;
      const bar = $("run-progress");
      const total = Math.max(run.progress_total || 0, 1);
      bar.max = total;
      bar.value = run.status === "succeeded" ? total : run.progress_done || 0;
      bar.textContent = `${run.progress_done}/${run.progress_total}`;
      bar.setAttribute("aria-valuetext", `${run.progress_done} of ${run.progress_total} steps`);
      $("run-message").textContent = run.status === "waiting_for_input" ? "Waiting for an answer (no worker is held)."
        : run.progress_message || (run.status === "queued" ? "Waiting for a worker…" : "");
      window.ToolpressQuestion.show($("run-question-box"), run, answer);
      if (run.progress_message && !seen.includes(run.progress_message)) {
        seen.push(run.progress_message);
        $("run-trail").append(h("li", { text: run.progress_message }));
      }
      const resultBox = $("run-result-box");
      resultBox.hidden = run.result === null || run.result === undefined;
      if (!resultBox.hidden) $("run-result").textContent = JSON.stringify(run.result, null, 2);
      // Image, audio, file and resource outputs: images shown, every file offered for download.
      const files = Array.isArray(run.files) ? run.files : [];
      $("run-files-box").hidden = files.length === 0;
      $("run-files").replaceChildren(...files.map((f) => h("li", {},
        f.image ? h("img", { src: f.url, alt: `${f.output}: ${f.name}`, class: "run-image" }) : null,
        h("a", { href: f.url, download: f.name, text: `Download ${f.name}` }),
        h("span", { class: "hint", text: ` ${f.output} · ${f.mime_type} · ${f.size} bytes` }))));
      $("run-error-box").hidden = !run.error;
      $("run-error").textContent = run.error || "";
      const trace = Array.isArray(run.trace) ? run.trace : [];
      $("run-trace-box").hidden = trace.length === 0;
      const anchors = new Set();
      const anchorOf = (t) => {  // the first trace entry of a step gets the id its diagram box links to
        const parent = (t.parent || "").replace(/\[\d+\]$/, "-each");
        const id = parent ? `trace-${parent}-${t.step_id}` : `trace-${t.step_id}`;
        if (anchors.has(id)) return undefined;
        anchors.add(id);
        return id;
      };
      $("run-trace").replaceChildren(...trace.map((t) => h("tr", { id: anchorOf(t) },
        h("td", {}, h("code", { text: t.parent ? `${t.parent} › ${t.step_id}` : t.step_id || "" })),
        h("td", { text: t.type || "" }),
        h("td", {}, h("span", { class: `badge st-${t.status}`, text: t.status || "" })),
        h("td", { text: t.duration_ms != null ? `${Math.round(t.duration_ms)} ms` : "" }),
        h("td", {}, h("details", {}, h("summary", { text: "input / output" }),
          h("pre", { class: "json" }, h("code", { text: JSON.stringify({ input: t.input, output: t.output, error: t.error }, null, 2) })))))));
      const logs = trace.flatMap((t) => (Array.isArray(t.logs) ? t.logs.map((entry) => ({ ...entry, step: t.step_id })) : []));
      $("run-logs-box").hidden = logs.length === 0;
      $("run-logs").replaceChildren(...logs.map((entry) => h("li", {},
        h("span", { class: `badge log-${entry.level}`, text: entry.level }), " ",
        h("code", { text: entry.step || "" }), " ", h("span", { text: entry.message || "" }))));
      // What code steps printed (print / console.log), each under its step id.
      const printed = trace.filter((t) => t.type === "code" && t.output && typeof t.output.output === "string" && t.output.output);
      $("run-printed-box").hidden = printed.length === 0;
      $("run-printed").replaceChildren(...printed.map((t) => h("div", { class: "printed" },
        h("h4", {}, h("code", { text: t.parent ? `${t.parent} › ${t.step_id}` : t.step_id })),
        h("pre", { class: "console-output" }, h("code", { text: t.output.output })))));
      paintDiagram(run, trace);
      const cancel = $("test-cancel") || $("run-cancel");
      if (cancel) cancel.disabled = run.terminal;
      if (!run.terminal) sawLive = true;
      // A run that had ended before the page opened has its full story in the trace, not in the live trail.
      const trailHidden = run.terminal && !sawLive && trace.length > 0;
      $("run-trail").hidden = trailHidden;
      $("trail-h").hidden = trailHidden;
      if (run.terminal) { stop(); if (onEnd) onEnd(run); }
    }

    function stop() {
      if (source) { source.close(); source = null; }
      if (poll) { clearInterval(poll); poll = null; }
    }

    function startPolling(id) {
      if (poll) return;
      let asked = 0;
      let shown = 0;  // polls can overlap: a reply older than one already shown is dropped
      poll = setInterval(async () => {
        const mine = ++asked;
        const res = await fetch(`/runs/${id}.json`, { headers: { Accept: "application/json" }, cache: "no-store" });
        const run = res.ok ? await res.json() : null;
        if (run && mine > shown && poll) { shown = mine; render(run); }
      }, 500);
    }

    function follow(id) {
      stop();
      source = new EventSource(`/runs/${id}/events`);
      source.addEventListener("run", (e) => render(JSON.parse(e.data)));
      source.onerror = () => { if (!current || !current.terminal) { stop(); startPolling(id); } };
    }

    async function answer(questionId, action, content) {
      const before = renders;
      const { status, data } = await postJson(`/runs/${current.id}/answer`, csrf,
        { question_id: questionId, action, content });
      if (status === 200 && data && data.id) {
        if (renders === before) render(data);
        if (!source && !poll) follow(data.id);
        return null;
      }
      return (data && data.errors && data.errors[0].message) || `the answer was not taken (HTTP ${status})`;
    }

    async function cancel() {
      if (!current || current.terminal) return;
      const before = renders;
      const { data } = await postJson(`/runs/${current.id}/cancel`, csrf);
      if (data && data.id && renders === before) render(data);
    }

    function reset() { seen.length = 0; sawLive = false; $("run-trail").replaceChildren(); current = null; }
    return { follow, render, cancel, reset, get current() { return current; } };
  }

  // ---- the test-run form, generated from the input schema -------------------------------------------
  const form = $("test-form");
  if (form) {
    const schema = JSON.parse($("input-schema-data").textContent);
    const required = new Set(schema.required || []);
    const fields = $("test-fields");
    const kinds = {};
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const id = `arg-${name}`;
      const isReq = required.has(name);
      let input;
      let kind = "text";
      if (Array.isArray(prop.enum)) {
        kind = "enum";
        input = h("select", { id, name }, h("option", { value: "", text: isReq ? "choose…" : "(default)" }),
          prop.enum.map((v, i) => h("option", { value: String(i), text: String(v) })));
        kinds[name] = { kind, values: prop.enum };
      } else if (prop.type === "boolean") {
        kind = "bool";
        input = h("select", { id, name }, h("option", { value: "", text: isReq ? "choose…" : "(default)" }),
          h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }));
      } else if (prop.type === "integer" || prop.type === "number") {
        kind = "number";
        input = h("input", { id, name, type: "number", step: prop.type === "integer" ? "1" : "any",
          min: prop.minimum, max: prop.maximum });
      } else if (prop.type === "array" || prop.type === "object") {
        kind = "json";
        input = h("textarea", { id, name, rows: 3, spellcheck: "false", placeholder: prop.type === "array" ? "[\"a\", \"b\"]" : "{}" });
      } else if (prop["x-multiline"]) {
        input = h("textarea", { id, name, rows: 4, maxlength: prop.maxLength, minlength: prop.minLength });
      } else {
        input = h("input", { id, name, type: prop.format === "uri" ? "url" : "text", maxlength: prop.maxLength,
          minlength: prop.minLength });
      }
      kinds[name] = kinds[name] || { kind };
      if (isReq) input.setAttribute("aria-required", "true");
      if (prop.default !== undefined) input.setAttribute("placeholder", `default: ${JSON.stringify(prop.default)}`);
      const hintText = [prop.description, prop.default !== undefined ? `Default: ${JSON.stringify(prop.default)}.` : ""].filter(Boolean).join(" ");
      const hint = hintText ? h("p", { class: "hint", id: `${id}-hint`, text: hintText }) : null;
      if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
      fields.append(h("div", { class: "field", "data-path": name },
        h("label", { for: id, text: `${name}${isReq ? " *" : ""}` }), input, hint));
    }
    if (!Object.keys(schema.properties || {}).length) fields.append(h("p", { class: "hint", text: "This app takes no inputs." }));

    const errorsBox = $("test-errors");
    function showErrors(errors) {
      form.querySelectorAll(".field-error").forEach((n) => n.remove());
      form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
      const unplaced = [];
      for (const err of errors) {
        const name = String(err.path).split(/[.[]/)[0];
        const box = form.querySelector(`[data-path="${CSS.escape(name)}"]`);
        if (box) {
          box.append(h("p", { class: "field-error", text: err.message }));
          box.querySelector("input, select, textarea").setAttribute("aria-invalid", "true");
        } else unplaced.push(`${err.path}: ${err.message}`);
      }
      errorsBox.hidden = errors.length === 0;
      errorsBox.textContent = errors.length ? "Check the arguments: " + (unplaced.join("; ") || "see the marked fields.") : "";
    }

    function collect() {
      const args = {};
      const problems = [];
      for (const [name, info] of Object.entries(kinds)) {
        const input = $(`arg-${name}`);
        const raw = input.value;
        if (raw === "") continue;
        if (info.kind === "enum") args[name] = info.values[Number(raw)];
        else if (info.kind === "bool") args[name] = raw === "true";
        else if (info.kind === "number") args[name] = Number(raw);
        else if (info.kind === "json") {
          try { args[name] = JSON.parse(raw); } catch (_) { problems.push({ path: name, message: "not valid JSON" }); }
        } else args[name] = raw;
      }
      return { args, problems };
    }

    const csrf = form.dataset.csrf;
    const runner = follower(csrf, () => { $("test-start").disabled = false; });
    $("test-cancel").addEventListener("click", () => runner.cancel());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const { args, problems } = collect();
      if (problems.length) { showErrors(problems); return; }
      $("test-start").disabled = true;
      const { status, data } = await postJson(`/apps/${form.dataset.app}/test-runs`, csrf, { arguments: args });
      if (status !== 201) {
        $("test-start").disabled = false;
        showErrors((data && data.errors) || [{ path: "(run)", message: (data && data.detail) || `the run could not start (HTTP ${status})` }]);
        return;
      }
      showErrors([]);
      runner.reset();
      $("run-link").textContent = data.run_id.slice(0, 8);
      $("run-link").href = data.detail;
      $("run-live").hidden = false;
      runner.render({ id: data.run_id, status: "queued", progress_done: 0, progress_total: 0, terminal: false, result: null, error: null, trace: null });
      runner.follow(data.run_id);
    });
  }

  // ---- a run's detail page -------------------------------------------------------------------------
  const detail = $("run-data");
  if (detail) {
    const run = JSON.parse(detail.textContent);
    const runner = follower($("run-detail").dataset.csrf);
    runner.render(run);
    if (!run.terminal) runner.follow(run.id);
    const cancel = $("run-cancel");
    if (cancel) cancel.addEventListener("click", () => runner.cancel());
  }

  // ---- the runs list: live status ------------------------------------------------------------------
  const table = $("runs-table");
  if (table) {
    const names = JSON.parse($("app-names").textContent);
    const query = table.dataset.query;
    const body = table.querySelector("tbody");
    const row = (r) => h("tr", { "data-run": r.id },
      h("td", {}, h("a", { href: `/runs/${r.id}`, text: r.id.slice(0, 8) })),
      h("td", {}, names[r.app_id] || `#${r.app_id}`, r.purpose ? " " : null, r.purpose ? h("span", { class: "purpose", text: r.purpose }) : null),
      h("td", {}, h("span", { class: `badge st-${r.status}`, text: r.status }),
        r.question ? h("span", { class: "asks", text: ` asks: ${(r.question.params || {}).message || "the caller's model"}` }) : null),
      h("td", { text: r.progress_total ? `${r.progress_done}/${r.progress_total}` : "" }),
      h("td", { text: r.source === "console" ? "console test" : [r.client_name, r.client_version].filter(Boolean).join(" ") || "—" }),
      h("td", { text: r.created_at.replace("T", " ").slice(0, 19) }),
      h("td", { text: r.duration_ms != null ? `${Math.round(r.duration_ms)} ms` : "" }));
    setInterval(async () => {
      if (document.hidden) return;
      const res = await fetch(`/runs.json?${query}`, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!res.ok) return;
      const data = await res.json();
      body.replaceChildren(...data.data.map(row));
      $("runs-count").textContent = String(data.count);
    }, 1500);
  }
});
