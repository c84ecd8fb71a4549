// The modeler's "Tabel keputusan" tab: the decision tables (DMN) deployed with the version, edited with
// dmn-js, and a "coba tabel ini" panel that sends the table being edited and the typed inputs to the
// server (POST /api/v1/decisions/evaluate: the same parser and restricted evaluator a business-rule task
// uses) and shows the output. The diagram's "Deploy" sends the tables along (window.kiaDecisions.files).
// Page data: #dmn-editor[data-version-url, data-evaluate-url].
import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-font/css/dmn-embedded.css";
import DmnModeler from "dmn-js/lib/Modeler";
import indonesian from "./dmn-id.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

function el(tag, content, attrs = {}) {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) node.textContent = content;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function problemsOf(body) {
  const fields = body.error?.fields || {};
  const out = [];
  for (const messages of Object.values(fields)) out.push(...[].concat(messages));
  if (!out.length && body.error) out.push(body.error.message);
  return out;
}

function shown(value) {
  if (value === true) return "ya (True)";
  if (value === false) return "tidak (False)";
  if (value === null || value === undefined || value === "") return "(kosong)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function evaluate(url, dmn, inputs) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin", body: JSON.stringify({ dmn, inputs }),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

async function start(root) {
  const picker = root.querySelector("#dmn-file");
  const canvas = root.querySelector("#dmn-canvas");
  const trial = root.querySelector("#dmn-trial");
  const inputsBox = trial.querySelector("#dmn-inputs");
  const outcome = root.querySelector("#dmn-result");
  const files = []; // {name, xml}: the tables of this version, edited in place
  let current = -1;
  const translated = { additionalModules: [indonesian] }; // per view: dmn-js drops common.additionalModules
  const modeler = new DmnModeler({ container: canvas, decisionTable: translated, drd: translated, literalExpression: translated });

  const response = await fetch(root.dataset.versionUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`versi ${response.status}`);
  for (const decision of (await response.json()).decisions || []) files.push({ name: decision.name, xml: decision.xml });

  async function keep() {
    if (current < 0) return;
    files[current].xml = (await modeler.saveXML({ format: true })).xml;
  }

  async function describe() {
    // the columns (and warnings) as the server reads the table: the inputs to ask for
    const { status, body } = await evaluate(root.dataset.evaluateUrl, files[current].xml, null);
    inputsBox.replaceChildren();
    outcome.replaceChildren();
    if (status !== 200) {
      outcome.append(el("p", "Tabel ini akan ditolak saat deploy:", { class: "error" }));
      const list = el("ul", null, { class: "problems" });
      for (const message of problemsOf(body)) list.append(el("li", message));
      outcome.append(list);
      return;
    }
    for (const column of body.inputs) {
      const label = el("label", null, { class: "field" });
      label.append(el("span", `${column.label} (${column.expression})`));
      const input = el("input", null, { name: column.expression, "data-type": column.type_ref, autocomplete: "off" });
      if (["integer", "number", "long", "double"].includes(column.type_ref)) input.setAttribute("inputmode", "numeric");
      label.append(input);
      inputsBox.append(label);
    }
    showWarnings(body.warnings);
  }

  function showWarnings(warnings) {
    if (!warnings?.length) return;
    const list = el("ul", null, { class: "problems warnings" });
    for (const warning of warnings) list.append(el("li", `Peringatan: ${warning.message}`));
    outcome.append(list);
  }

  async function open(index) {
    await keep();
    current = index;
    const { warnings } = await modeler.importXML(files[index].xml);
    if (warnings.length) console.warn(warnings);
    const table = modeler.getViews().find((view) => view.type === "decisionTable");
    if (table) await modeler.open(table);
    await describe();
  }

  picker.replaceChildren(...files.map((file, index) => el("option", file.name, { value: String(index) })));
  picker.addEventListener("change", () => open(Number(picker.value)));
  trial.querySelector("#dmn-describe").addEventListener("click", async () => { await keep(); await describe(); });
  trial.addEventListener("submit", async (event) => {
    event.preventDefault();
    await keep();
    const inputs = {};
    for (const input of inputsBox.querySelectorAll("input")) {
      if (input.value.trim() !== "") inputs[input.name] = input.value.trim();
    }
    const { status, body } = await evaluate(root.dataset.evaluateUrl, files[current].xml, inputs);
    outcome.replaceChildren();
    if (status !== 200) {
      const list = el("ul", null, { class: "problems" });
      for (const message of problemsOf(body)) list.append(el("li", message));
      outcome.append(el("p", "Tabel tidak dapat dicoba:", { class: "error" }), list);
      return;
    }
    const result = el("dl", null, { class: "dmn-output" });
    const outputs = body.outputs.map((o) => o.expression);
    if (!body.matched_rules.length) {
      outcome.append(el("p", "Tidak ada aturan yang cocok: keluaran kosong.", { class: "error" }));
    } else {
      outcome.append(el("p", `Aturan yang cocok: ${body.matched_rules.join(", ")}`));
    }
    for (const output of body.outputs) {
      if (!(output.expression in body.result)) continue;
      result.append(el("dt", `${output.label} (${output.expression})`), el("dd", shown(body.result[output.expression])));
    }
    if (outputs.length) outcome.append(result);
    showWarnings(body.warnings);
  });

  window.kiaDecisions = {
    async files() { await keep(); return files.map((file) => ({ ...file })); },
    decisionIds() {
      const parser = new DOMParser();
      return files.map((file) => parser.parseFromString(file.xml, "application/xml").querySelector("decision")?.id)
        .filter(Boolean);
    },
    modeler,
  };
  if (files.length) await open(0);
  else canvas.append(el("p", "Versi ini tidak memiliki tabel keputusan.", { class: "muted" }));
  root.dataset.ready = "true";
}

// the page's tabs: "Diagram" and "Tabel keputusan" (buttons [data-tab] show the section of that id)
for (const button of document.querySelectorAll("[data-tab]")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) {
      const active = other === button;
      other.setAttribute("aria-selected", String(active));
      document.getElementById(other.dataset.tab).hidden = !active;
    }
  });
}

const root = document.getElementById("dmn-editor");
if (root) {
  start(root).catch((error) => {
    root.dataset.ready = "error";
    root.querySelector("#dmn-canvas").textContent = "Editor tabel keputusan tidak dapat dimuat.";
    console.error(error);
  });
}
