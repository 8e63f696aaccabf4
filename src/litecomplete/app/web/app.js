// litecomplete's web app: the seed app's flow (Generate, New suggestion, Accept, Copy,
// Clear, context window, profanity messages) plus live ghost text while typing.
"use strict";

const $ = (id) => document.getElementById(id);
const text = $("text"), mirror = $("mirror"), suggestionBox = $("suggestion"), messageBox = $("message");
const GHOST_DELAY_MS = 0, GHOST_TOKENS = 6;
// Milliseconds from a keystroke to its ghost text on screen (scripts/ghost_latency.py reads them).
window.litecompleteStats = { ghostMs: [], ghostKinds: [] };

const state = {
  models: [], accepted: [], ghost: "", suggestion: "", previous: "",
  ghostTimer: 0, ghostAbort: null, generateAbort: null, typedAt: 0,
};

// ------------------------------------------------------------------ messages

function showMessage(msg, isError = false) {
  messageBox.textContent = msg;
  messageBox.classList.toggle("error", isError);
  messageBox.hidden = !msg;
}

function describeError(status, error) {
  if (error && error.code === "profanity") return "Mind your language!";
  if (status === 404 || status === 503 || (error && error.code === "model_unavailable")) {
    return "Model missing or not loaded: " + (error ? error.message : "no model");
  }
  return error && error.message ? error.message : `The server answered ${status}.`;
}

class ApiError extends Error {
  constructor(status, error) { super(describeError(status, error)); this.status = status; this.error = error; }
}

// The prompt was refused for bad language: a notice, not an error.
function isProfanity(e) { return e instanceof ApiError && !!e.error && e.error.code === "profanity"; }

// ------------------------------------------------------------------ the text and its marks

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function render() {
  const value = text.value;
  let html = "", at = 0;
  for (const [a, b] of state.accepted) {
    html += escapeHtml(value.slice(at, a)) + "<mark>" + escapeHtml(value.slice(a, b)) + "</mark>";
    at = b;
  }
  html += escapeHtml(value.slice(at));
  if (state.ghost) html += '<span class="ghost">' + escapeHtml(state.ghost) + "</span>";
  mirror.innerHTML = html + "\u200b";
  mirror.scrollTop = text.scrollTop;
}

// Keep accepted ranges on the same characters when the user edits around them.
function shiftRanges(before, after) {
  let p = 0;
  const limit = Math.min(before.length, after.length);
  while (p < limit && before[p] === after[p]) p++;
  let s = 0;
  while (s < limit - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  const oldEnd = before.length - s, delta = after.length - before.length;
  const ranges = [];
  for (const [a, b] of state.accepted) {
    if (b <= p) ranges.push([a, b]);
    else if (a >= oldEnd) ranges.push([a + delta, b + delta]);
    else {
      if (a < p) ranges.push([a, p]);
      if (b > oldEnd) ranges.push([oldEnd + delta, b + delta]);
    }
  }
  state.accepted = ranges.filter(([a, b]) => b > a);
}

function appendAccepted(addition) {
  const start = text.value.length;
  text.value += addition;
  state.previous = text.value;
  state.accepted.push([start, text.value.length]);
  text.selectionStart = text.selectionEnd = text.value.length;
}

// ------------------------------------------------------------------ requests

function model() { return $("model").value || "default"; }

function contextFields() {
  const n = Number($("context").value);
  return document.querySelector("input[name=ctxmode]:checked").value === "words"
    ? { context_words: n } : { context_tokens: n };
}

function samplingFields() {
  return {
    temperature: Number($("temperature").value),
    top_p: Number($("top-p").value),
    top_k: Number($("top-k").value),
    max_tokens: Number($("max-tokens").value),
  };
}

async function post(body, signal) {
  const response = await fetch("/v1/completions", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal,
  });
  if (!response.ok) {
    let error = null;
    try { error = (await response.json()).error; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, error);
  }
  return response;
}

// Server-sent events: calls onText(piece) per piece; resolves to the finish reason.
async function stream(body, onText, signal) {
  const response = await post({ ...body, stream: true }, signal);
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "", finish = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") return finish;
      const choice = JSON.parse(data).choices[0];
      if (choice.text) onText(choice.text);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return finish;
}

// ------------------------------------------------------------------ Generate / New suggestion

function setBusy(busy) {
  $("generate").disabled = busy;
  $("generate").querySelector(".spinner").hidden = !busy;
}

async function generate() {
  const prompt = text.value;
  if (!prompt.trim()) { showMessage("Type a few words first."); return; }
  if (state.generateAbort) state.generateAbort.abort();
  const abort = (state.generateAbort = new AbortController());
  dismissGhost();
  showMessage("");
  state.suggestion = "";
  suggestionBox.textContent = "";
  $("accept").disabled = $("again").disabled = true;
  setBusy(true);
  const started = performance.now();
  try {
    // heal: the text may end inside a word; the suggestion then finishes it first.
    const body = { model: model(), prompt, seed: Math.floor(Math.random() * 2 ** 31),
      heal: true, ...samplingFields(), ...contextFields() };
    const finish = await stream(body, (piece) => {
      state.suggestion += piece;
      suggestionBox.textContent = state.suggestion;
    }, abort.signal);
    if (!state.suggestion.trim()) {
      state.suggestion = "";
      showMessage(finish === "content_filter" ? "No suggestions: every one was filtered. Try again." : "No suggestions.");
    }
    $("status").textContent = `suggestion in ${Math.round(performance.now() - started)} ms`;
  } catch (e) {
    if (e.name !== "AbortError") showMessage(e.message, !isProfanity(e));
  } finally {
    if (state.generateAbort === abort) { state.generateAbort = null; setBusy(false); }
    $("accept").disabled = !state.suggestion;
    $("again").disabled = !text.value.trim();
  }
}

function accept() {
  if (!state.suggestion) return;
  appendAccepted(state.suggestion);
  state.suggestion = "";
  suggestionBox.textContent = "";
  $("accept").disabled = true;
  render();
  text.focus();
}

// ------------------------------------------------------------------ ghost text

function dismissGhost() {
  clearTimeout(state.ghostTimer);
  if (state.ghostAbort) state.ghostAbort.abort();
  state.ghostAbort = null;
  if (state.ghost) { state.ghost = ""; render(); }
}

function scheduleGhost() {
  dismissGhost();
  if (!$("ghost").checked || !text.value.trim() || text.selectionEnd !== text.value.length) return;
  state.ghostTimer = setTimeout(fetchGhost, GHOST_DELAY_MS);
}

// kept: the rest of a ghost the user is typing through. The new answer replaces it only
// when it goes further along the same words: a ghost that changes under the user's
// fingers while they type what it said is worse than a shorter one.
async function fetchGhost(kept = "") {
  const prompt = text.value, abort = (state.ghostAbort = new AbortController());
  const typedAt = state.typedAt;
  let shown = !!kept, ghost = "";
  mirror.dataset.ghost = "streaming";
  try {
    // Greedy and without a word window, so each keystroke extends the cached prompt.
    // Streamed: the first word shows as soon as it is written, and a newer keystroke
    // aborts the request, which stops the generation on the server too.
    // Healed: a keystroke inside a word gets the rest of that word, and every key of
    // one word feeds the same tokens, whose logits the server already holds.
    await stream({ model: model(), prompt, max_tokens: GHOST_TOKENS, temperature: 0,
      stop: ["\n"], heal: true }, (piece) => {
      if (text.value !== prompt || state.ghostAbort !== abort) return;
      ghost += piece;
      const answer = ghost.replace(/\s+$/, "");
      if (kept && kept.startsWith(answer)) return;  // agrees so far, and is not longer yet
      if (kept && !answer.startsWith(kept)) { abort.abort(); return; }  // another path: keep ours
      state.ghost = answer;
      render();
      if (state.ghost && !shown) { shown = true; showGhostLatency(typedAt, "fetched"); }
    }, abort.signal);
    if (state.ghostAbort === abort) mirror.dataset.ghost = "done";  // the whole ghost is shown
  } catch (e) {
    if (e.name !== "AbortError" && e instanceof ApiError) showMessage(e.message, !isProfanity(e));
    if (e.name === "AbortError" && kept && state.ghostAbort === abort) mirror.dataset.ghost = "done";
  }
}

function showGhostLatency(typedAt, kind) {
  const ms = performance.now() - typedAt;
  window.litecompleteStats.ghostMs.push(ms);
  window.litecompleteStats.ghostKinds.push(kind);
  $("status").textContent = `live suggestion ${Math.round(ms)} ms after the keystroke`;
}

// Typing what the ghost predicted keeps the rest of it on screen at once.
function keepGhost(before, after) {
  if (!state.ghost || !after.startsWith(before) || text.selectionEnd !== after.length) return false;
  const typed = after.slice(before.length);
  if (!typed || !state.ghost.startsWith(typed) || typed.length >= state.ghost.length) return false;
  state.ghost = state.ghost.slice(typed.length);
  return true;
}

// ------------------------------------------------------------------ settings

// The picked model's KV-cache length (256 when it does not say: app-format models).
function modelMaxLength() {
  const entry = state.models.find((m) => m.id === model());
  return entry && entry.max_length ? entry.max_length : 256;
}

function updateContext() {
  const words = document.querySelector("input[name=ctxmode]:checked").value === "words";
  const slider = $("context");
  if (words) { slider.min = 5; slider.max = 50; }
  else { slider.min = 8; slider.max = Math.max(8, modelMaxLength() - 8); }
  $("context-value").textContent = slider.value;
  $("context-unit").textContent = words ? "words" : "tokens";
}

function switchContextMode() {
  const words = document.querySelector("input[name=ctxmode]:checked").value === "words";
  updateContext();
  $("context").value = words ? 20 : Math.floor(modelMaxLength() / 2);  // defaults: 20 words, half the model
  updateContext();
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models");
    state.models = (await response.json()).data;
  } catch (_) { state.models = []; }
  const select = $("model");
  select.innerHTML = "";
  for (const m of state.models) {
    const option = document.createElement("option");
    option.value = m.id;
    option.textContent = `${m.id} (${m.format}, ${(m.size_bytes / 2 ** 20).toFixed(1)} MiB)`;
    select.appendChild(option);
  }
  if (!state.models.length) showMessage("Model missing or not loaded: the server has no usable model.", true);
  updateContext();
}

// ------------------------------------------------------------------ wiring

text.addEventListener("input", () => {
  state.typedAt = performance.now();
  const kept = keepGhost(state.previous, text.value);
  shiftRanges(state.previous, text.value);
  state.previous = text.value;
  $("again").disabled = !state.suggestion && !text.value.trim();
  if (kept) {  // already right: show it now, refresh it in the background
    render();
    showGhostLatency(state.typedAt, "kept");
    clearTimeout(state.ghostTimer);
    if (state.ghostAbort) state.ghostAbort.abort();
    const rest = state.ghost;
    mirror.dataset.ghost = "streaming";
    state.ghostTimer = setTimeout(() => fetchGhost(rest), GHOST_DELAY_MS);
    return;
  }
  render();
  scheduleGhost();
});
text.addEventListener("scroll", () => { mirror.scrollTop = text.scrollTop; });
text.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && state.ghost) {
    event.preventDefault();
    const ghost = state.ghost;
    dismissGhost();
    appendAccepted(ghost);
    render();
    scheduleGhost();
  } else if (event.key === "Escape" && state.ghost) {
    event.preventDefault();
    dismissGhost();
  }
});
text.addEventListener("click", () => { if (text.selectionEnd !== text.value.length) dismissGhost(); });

$("generate").addEventListener("click", generate);
$("again").addEventListener("click", generate);
$("accept").addEventListener("click", accept);
$("copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(text.value); }
  catch (_) { text.select(); document.execCommand("copy"); }
  showMessage("Copied to the clipboard.");
});
$("clear").addEventListener("click", () => {
  if (state.generateAbort) state.generateAbort.abort();
  text.value = state.previous = state.suggestion = "";
  state.accepted = [];
  suggestionBox.textContent = "";
  dismissGhost();
  showMessage("");
  $("accept").disabled = $("again").disabled = true;
  render();
  text.focus();
});
$("model").addEventListener("change", () => { dismissGhost(); updateContext(); });
$("context").addEventListener("input", updateContext);
document.querySelectorAll("input[name=ctxmode]").forEach((r) => r.addEventListener("change", switchContextMode));
for (const id of ["temperature", "top-p", "top-k", "max-tokens"]) {
  $(id).addEventListener("input", () => { $(id + "-value").textContent = $(id).value; });
}
$("ghost").addEventListener("change", () => { if (!$("ghost").checked) dismissGhost(); });

loadModels();
render();
