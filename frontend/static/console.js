// Toolpress console: confirmation dialogs, copy buttons and the MCP server panel. No dependencies.
"use strict";

// Build an element: h("p", {class: "hint", text: "…"}, child, …); used by runs.js and questions.js.
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function selectText(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

// Copy an element's text; falls back to selecting it when the clipboard API is unavailable.
async function copyText(el) {
  const text = el.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return "Copied to the clipboard.";
    } catch (_) { /* fall through to selection */ }
  }
  selectText(el);
  let copied = false;
  try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
  return copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
}

document.addEventListener("DOMContentLoaded", () => {
  // Buttons that open a confirmation <dialog>, and Cancel buttons inside one.
  document.querySelectorAll("[data-dialog]").forEach((btn) => {
    btn.addEventListener("click", () => document.getElementById(btn.dataset.dialog).showModal());
  });
  document.querySelectorAll("dialog [data-close]").forEach((btn) => {
    btn.addEventListener("click", () => btn.closest("dialog").close());
  });

  // One-time tokens (account and access pages): copy, and say so in the section's status line.
  // "Replace…" fills the secret form with the name.
  document.querySelectorAll("[data-copy-text]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      const section = btn.closest("section");
      const status = (section && section.querySelector("[role=status]")) || document.getElementById("account-status");
      const message = await copyText(document.getElementById(btn.dataset.copyText));
      if (status) status.textContent = message;
    });
  });
  document.querySelectorAll("[data-fill-secret]").forEach((btn) => {
    btn.addEventListener("click", () => {
      document.getElementById("secret-name").value = btn.dataset.fillSecret;
      document.getElementById("secret-value").focus();
    });
  });

  const panel = document.getElementById("mcp-panel");
  const urlEl = document.getElementById("mcp-url");
  if (!panel || !urlEl) return;

  const revealBtn = document.getElementById("mcp-reveal");
  const statusEl = document.getElementById("mcp-status");
  const installLink = document.getElementById("cursor-install");
  const toolName = panel.dataset.toolName;
  const placeholder = panel.dataset.placeholder;
  let fullUrl = panel.dataset.revealed === "true" ? urlEl.textContent.trim() : null;
  let shown = fullUrl !== null;

  const say = (text) => { statusEl.textContent = text; };
  const installHref = (url) => "cursor://anysphere.cursor-deeplink/mcp/install?name=" + encodeURIComponent(toolName)
    + "&config=" + encodeURIComponent(btoa(JSON.stringify({ url })));

  function show(url, revealed) {
    urlEl.textContent = url;
    document.querySelectorAll("[data-template]").forEach((el) => {
      el.textContent = el.dataset.template.split(placeholder).join(url);
    });
    if (installLink) installLink.href = revealed ? installHref(url) : "#";
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
    show(await fetchUrl(), true);
    shown = true;
    revealBtn.textContent = "Hide";
  }

  if (shown) show(fullUrl, true);

  revealBtn.addEventListener("click", async () => {
    try {
      if (shown) {
        show(urlEl.dataset.masked, false);
        shown = false;
        revealBtn.textContent = "Reveal";
        say("URL hidden.");
      } else {
        await reveal();
        say("URL revealed.");
      }
    } catch (err) { say(err.message); }
  });

  if (installLink) {
    installLink.addEventListener("click", async (e) => {
      if (shown) return;
      e.preventDefault();
      try {
        await reveal();
        say("URL revealed: press “Add to Cursor” again to open Cursor.");
      } catch (err) { say(err.message); }
    });
  }

  panel.querySelectorAll("[data-copy]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      try {
        if (!shown) await reveal();
        say(await copyText(document.getElementById(btn.dataset.copy)));
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
