// Toolpress console: the MCP server panel (reveal, copy, regenerate confirmation). No dependencies.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("mcp-panel");
  const urlEl = document.getElementById("mcp-url");
  if (!panel || !urlEl) return;

  const snippetEl = document.getElementById("mcp-snippet");
  const revealBtn = document.getElementById("mcp-reveal");
  const statusEl = document.getElementById("mcp-status");
  const toolName = panel.dataset.toolName;
  let fullUrl = panel.dataset.revealed === "true" ? urlEl.textContent.trim() : null;
  let shown = fullUrl !== null;

  const say = (text) => { statusEl.textContent = text; };
  const snippetFor = (url) => JSON.stringify({ mcpServers: { [toolName]: { url } } }, null, 2);

  function show(url) {
    urlEl.textContent = url;
    snippetEl.textContent = snippetFor(url);
  }

  async function fetchUrl() {
    if (fullUrl) return fullUrl;
    const res = await fetch(panel.dataset.revealUrl, {
      headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
    });
    if (!res.ok) throw new Error(res.status === 401 ? "Your session ended: log in again." : "Could not load the URL.");
    fullUrl = (await res.json()).url;
    return fullUrl;
  }

  async function reveal() {
    show(await fetchUrl());
    shown = true;
    revealBtn.textContent = "Hide";
  }

  revealBtn.addEventListener("click", async () => {
    try {
      if (shown) {
        show(urlEl.dataset.masked);
        shown = false;
        revealBtn.textContent = "Reveal";
        say("URL hidden.");
      } else {
        await reveal();
        say("URL revealed.");
      }
    } catch (err) { say(err.message); }
  });

  function selectText(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  async function copyFrom(el) {
    const text = el.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        say("Copied to the clipboard.");
        return;
      } catch (_) { /* fall through to selection */ }
    }
    selectText(el);
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
    say(copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
  }

  document.querySelectorAll("[data-copy]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      try {
        if (!shown) await reveal();
        await copyFrom(document.getElementById(btn.dataset.copy));
      } catch (err) { say(err.message); }
    });
  });

  const dialog = document.getElementById("regen-dialog");
  const openBtn = document.getElementById("regen-open");
  if (dialog && openBtn) {
    openBtn.addEventListener("click", () => dialog.showModal());
    document.getElementById("regen-cancel").addEventListener("click", () => dialog.close());
  }
});
